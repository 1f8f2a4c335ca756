// The truth cache's entry format: a round trip keeps every bit, and any
// damage (a flipped byte anywhere, a truncation, a misfiled key) is detected.
#include "model/cache_entry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

CacheEntry sample_entry() {
  CacheEntry e;
  e.kind = "reference";
  e.key = std::string(64, 'a');
  e.description = "tiny, prefill T=3, mask causal, 50 digits — op level";
  e.fields = {{"tokens", "5,17,3"}, {"stochastic_runs", "8"}};
  e.arrays = {{"truth.embed", {1.0, -0.0, 1e-300, 0.1, std::numeric_limits<double>::denorm_min()}},
              {"empty", {}},
              {"budgets.floor", {std::numeric_limits<double>::infinity(), 3.5}}};
  return e;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(CacheEntry, RoundTripKeepsEveryBitAndTheArraysOrder) {
  const CacheEntry e = sample_entry();
  const std::string bytes = serialize_cache_entry(e);
  EXPECT_EQ(serialize_cache_entry(e), bytes);  // deterministic
  const CacheEntry back = parse_cache_entry(bytes, "entry");
  EXPECT_EQ(back.kind, e.kind);
  EXPECT_EQ(back.key, e.key);
  EXPECT_EQ(back.description, e.description);
  EXPECT_EQ(back.fields, e.fields);
  ASSERT_EQ(back.arrays.size(), e.arrays.size());
  for (size_t i = 0; i < e.arrays.size(); ++i) {
    EXPECT_EQ(back.arrays[i].first, e.arrays[i].first);
    ASSERT_EQ(back.arrays[i].second.size(), e.arrays[i].second.size());
    for (size_t j = 0; j < e.arrays[i].second.size(); ++j)
      EXPECT_TRUE(same_bits(back.arrays[i].second[j], e.arrays[i].second[j]));
  }
  EXPECT_EQ(back.array("budgets.floor", 2, "entry")[1], 3.5);
  EXPECT_THROW(back.array("budgets.floor", 3, "entry"), InputError);
  EXPECT_THROW(back.array("missing", -1, "entry"), InputError);
  EXPECT_THROW(back.field("missing", "entry"), InputError);
}

// Every byte matters: a flip anywhere (head lines, digest, header, data) is
// refused with an InputError, never read as another entry.
TEST(CacheEntry, AFlippedByteAnywhereIsDetected) {
  const std::string bytes = serialize_cache_entry(sample_entry());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x10);
    EXPECT_THROW(parse_cache_entry(damaged, "entry"), InputError) << "byte " << i;
  }
}

TEST(CacheEntry, TruncationAndForeignFilesAreRefusedNamingTheSource) {
  const std::string bytes = serialize_cache_entry(sample_entry());
  for (size_t n : {size_t{0}, size_t{10}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(parse_cache_entry(bytes.substr(0, n), "E"), InputError) << n;
  try {
    parse_cache_entry("{\"not\": \"an entry\"}", "DIR/abc.entry");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("DIR/abc.entry"));
    EXPECT_THAT(e.what(), HasSubstr("not a truth cache entry"));
  }
}

TEST(CacheEntry, HeadIsReadFromTheFirstBytesAlone) {
  const std::string bytes = serialize_cache_entry(sample_entry());
  const CacheEntry head = parse_cache_entry_head(bytes.substr(0, 300), "E");
  EXPECT_EQ(head.kind, "reference");
  EXPECT_EQ(head.key, std::string(64, 'a'));
  EXPECT_TRUE(head.arrays.empty());
}

TEST(CacheEntry, KeysAreSixtyFourLowerCaseHexDigits) {
  EXPECT_TRUE(is_cache_key(std::string(64, '0')));
  EXPECT_FALSE(is_cache_key(std::string(63, '0')));
  EXPECT_FALSE(is_cache_key(std::string(64, 'A')));
  EXPECT_FALSE(is_cache_key(std::string(64, 'g')));
}

}  // namespace
}  // namespace gpt2
