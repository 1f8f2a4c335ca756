#include "model/shard.h"

#include <gtest/gtest.h>

#include <map>

#include "model/error.h"

namespace gpt2 {
namespace {

TEST(Shard, ParsesKOverN) {
  EXPECT_EQ(parse_shard("1/1", "--shard"), (Shard{1, 1}));
  EXPECT_EQ(parse_shard("2/3", "--shard"), (Shard{2, 3}));
  EXPECT_EQ(parse_shard("10000/10000", "--shard"), (Shard{10000, 10000}));
  EXPECT_EQ(parse_shard("2/3", "x").text(), "2/3");
}

TEST(Shard, RefusesAnythingElseNamingTheSource) {
  for (const char* bad :
       {"",     "/",    "1",    "1/",   "/3",   "0/3",   "4/3",   "-1/3",    "+1/3",
        "1/+3", " 1/3", "1/3 ", "01/3", "1/03", "1/3/3", "1.0/3", "1/10001", "99999999999/1",
        "a/b",  "1\0/3"}) {
    try {
      parse_shard(bad, "--shard");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()).rfind("--shard: expected K/N", 0), 0u) << e.what();
    }
  }
}

TEST(Shard, HonoursGoogleTestVariablesOnlyWithoutTheOption) {
  std::map<std::string, std::string> env;
  auto getenv = [&](const char* name) -> const char* {
    const auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_FALSE(resolve_shard("", getenv));
  env = {{"GTEST_TOTAL_SHARDS", "3"}, {"GTEST_SHARD_INDEX", "0"}};
  EXPECT_EQ(resolve_shard("", getenv), (Shard{1, 3}));
  env["GTEST_SHARD_INDEX"] = "2";
  EXPECT_EQ(resolve_shard("", getenv), (Shard{3, 3}));
  EXPECT_EQ(resolve_shard("1/2", getenv), (Shard{1, 2}));  // the option wins
  for (const auto& [total, index] : std::vector<std::pair<std::string, std::string>>{
           {"3", "3"}, {"3", "-1"}, {"0", "0"}, {"x", "0"}, {"3", "00"}, {"3", ""}}) {
    env = {{"GTEST_TOTAL_SHARDS", total}, {"GTEST_SHARD_INDEX", index}};
    EXPECT_THROW(resolve_shard("", getenv), InputError) << total << " " << index;
  }
  env = {{"GTEST_TOTAL_SHARDS", "3"}};
  EXPECT_THROW(resolve_shard("", getenv), InputError);
}

TEST(Shard, AssignsHeaviestFirstToTheLeastLoaded) {
  // Costs 5, 1, 4, 1, 3 over 2 shards: 5 -> 1, 4 -> 2, 3 -> 2, 1 -> 1, 1 -> 1.
  EXPECT_EQ(assign_to_shards({5, 1, 4, 1, 3}, 2), (std::vector<int>{1, 1, 2, 1, 2}));
  // Equal costs go round the shards in order.
  EXPECT_EQ(assign_to_shards({1, 1, 1, 1, 1}, 3), (std::vector<int>{1, 2, 3, 1, 2}));
  // More shards than items: some shards are empty.
  EXPECT_EQ(assign_to_shards({2, 1}, 4), (std::vector<int>{1, 2}));
  EXPECT_TRUE(assign_to_shards({}, 3).empty());
}

}  // namespace
}  // namespace gpt2
