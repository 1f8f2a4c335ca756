// The truth cache, the memory check and the conformance plan end to end:
// a second run reads every truth and prints the same table, a damaged entry
// is one warning line and is recomputed, `cache` lists, verifies and prunes,
// a run that cannot fit is refused in one line before any work, the plan
// says what it drops before any result, and a stopped run leaves its
// reports marked incomplete.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/cli_test_support.h"

namespace gpt2::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Results of the T = 7 scenarios on one kernel set: a few seconds.
const std::string kSmallRun = "conformance --model tiny --kernel eigen --filter 'T=7' ";

fs::path fresh(const std::string& name) {
  const fs::path dir = scratch() / name;
  fs::remove_all(dir);
  return dir;
}

std::vector<fs::path> entries_of(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".entry") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(CacheCli, ASecondConformanceReadsEveryTruthAndPrintsTheSameTable) {
  const fs::path cache = fresh("cache_twice");
  const std::string args = kSmallRun + "--progress --truth-cache " + cache.string();
  const Result first = run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.err, HasSubstr(" 0 read, "));
  const Result second = run(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.err, HasSubstr(" 0 computed"));
  EXPECT_EQ(second.out, first.out);
  // --no-truth-cache neither reads nor writes.
  const size_t stored = entries_of(cache).size();
  const Result off = run(kSmallRun + "--no-truth-cache --truth-cache " + cache.string());
  EXPECT_EQ(off.exit_code, 2) << "the two options exclude each other";
  const Result without = run(kSmallRun + "--no-truth-cache");
  ASSERT_EQ(without.exit_code, 0) << without.err;
  EXPECT_EQ(without.out, first.out);
  EXPECT_EQ(entries_of(cache).size(), stored);
}

TEST(CacheCli, ADamagedEntryIsOneWarningLineAndIsRecomputed) {
  const fs::path cache = fresh("cache_damaged");
  const std::string args = kSmallRun + "--truth-cache " + cache.string();
  const Result first = run(args);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  // Damage the largest entry (a truth): one bit of its data.
  std::vector<fs::path> entries = entries_of(cache);
  ASSERT_FALSE(entries.empty());
  const fs::path victim = *std::max_element(
      entries.begin(), entries.end(),
      [](const fs::path& a, const fs::path& b) { return fs::file_size(a) < fs::file_size(b); });
  std::string bytes = gpt2::read_file(victim.string());
  bytes[bytes.size() - 3] ^= 0x04;
  { std::ofstream(victim, std::ios::binary | std::ios::trunc) << bytes; }

  const Result second = run(args);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(line_count(second.err), 1) << second.err;
  EXPECT_THAT(second.err, HasSubstr(victim.string()));
  EXPECT_THAT(second.err, HasSubstr("recomputing it"));
  EXPECT_EQ(second.out, first.out);
  const Result verify = run("cache verify --truth-cache " + cache.string());
  EXPECT_EQ(verify.exit_code, 0) << verify.out;  // rewritten whole
}

TEST(CacheCli, CacheListsVerifiesAndPrunes) {
  const fs::path cache = fresh("cache_verb");
  ASSERT_EQ(run(kSmallRun + "--truth-cache " + cache.string()).exit_code, 0);
  const size_t n = entries_of(cache).size();
  ASSERT_GT(n, 2u);
  const Result list = run("cache list --truth-cache " + cache.string());
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr(std::to_string(n) + " entries"));
  EXPECT_THAT(list.out, HasSubstr("the truth of tiny"));
  EXPECT_THAT(list.out, HasSubstr("replay"));

  std::string bytes = gpt2::read_file(entries_of(cache)[0].string());
  bytes[bytes.size() / 2] ^= 0x01;
  { std::ofstream(entries_of(cache)[0], std::ios::binary | std::ios::trunc) << bytes; }
  const Result verify = run("cache verify --truth-cache " + cache.string());
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.out, HasSubstr("DAMAGED " + entries_of(cache)[0].string()));
  EXPECT_THAT(verify.out, HasSubstr("1 damaged"));

  const Result prune = run("cache prune --max-size 0 --truth-cache " + cache.string());
  ASSERT_EQ(prune.exit_code, 0) << prune.err;
  EXPECT_THAT(prune.out, HasSubstr("removed " + std::to_string(n) + " entries"));
  EXPECT_TRUE(entries_of(cache).empty());
  expect_bad_input("cache prune --max-size 2X --truth-cache " + cache.string(),
                   "--max-size: expected a size in bytes");
  expect_bad_input("cache list --no-truth-cache", "no cache to look at");
  const fs::path file = scratch() / "not_a_directory";
  { std::ofstream(file) << "x"; }
  expect_bad_input(kSmallRun + "--truth-cache " + file.string(), "not a directory");
}

TEST(CacheCli, ARunThatCannotFitIsRefusedInOneLineBeforeAnyWork) {
  const std::string tiny_memory = "GPT2_ORACLE_MEMORY_AVAILABLE=1M";
  const std::string xl = " --model gpt2-xl-shape ";  // 6 GB of weights never generated
  const std::string out = (scratch() / "refused").string();
  for (const std::string& args :
       {"run --impl reference" + xl + "--tokens 1 --out " + out + ".safetensors",
        "conformance" + xl + "--no-truth-cache",
        "fixtures generate" + xl + "--tokens 1 --no-truth-cache --out " + out,
        "mask-ablation" + xl + "--tokens 1,2 --no-truth-cache"}) {
    expect_bad_input(args, "is available (GPT2_ORACLE_MEMORY_AVAILABLE); --force runs it anyway",
                     60, tiny_memory);
  }
  const Result forced =
      run("run --impl reference --model tiny --tokens 1,2 --force --out " + out + ".safetensors", 0,
          "GPT2_ORACLE_MEMORY_AVAILABLE=1");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_THAT(forced.err, HasSubstr("running anyway (--force)"));
}

TEST(CacheCli, ThePlanSaysWhatItDropsBeforeAnyResult) {
  const Result r =
      run("conformance --model small --kernel eigen --no-replay --budget-minutes 0 "
          "--truth-cache " +
          (scratch() / "cache_plan").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The title, then the plan, then the table's rows: only T = 1 fits no time.
  const size_t plan = r.out.find("\nplan: ");
  const size_t dropped = r.out.find("scenarios dropped");
  const size_t first_row = r.out.find("prefill T=1 ");
  ASSERT_NE(plan, std::string::npos) << r.out;
  ASSERT_NE(dropped, std::string::npos) << r.out;
  EXPECT_LT(dropped, first_row);
  EXPECT_THAT(r.out, HasSubstr("--full-context"));
  EXPECT_THAT(r.out, Not(HasSubstr("prefill T=7")));
  EXPECT_THAT(r.out, HasSubstr("result: 1 of 1 pass"));
}

TEST(CacheCli, AStoppedConformanceLeavesReportsOfTheResultsSoFar) {
  const fs::path json = scratch() / "partial.json", junit = scratch() / "partial.xml";
  fs::remove(json);
  fs::remove(junit);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    ::setenv("XDG_CACHE_HOME", (scratch() / "xdg-cache").c_str(), 1);
    ::execl(GPT2_ORACLE_BINARY, GPT2_ORACLE_BINARY, "conformance", "--model", "small", "--kernel",
            "eigen", "--full-context", "--no-truth-cache", "--json", json.c_str(), "--junit",
            junit.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // The first result is written within a minute (T = 1); T = 128 takes longer.
  bool written = false;
  for (int i = 0; i < 1200 && !written; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    written = fs::exists(json) && fs::exists(junit);
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(written);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "status " << status;
  const auto report = nlohmann::json::parse(gpt2::read_file(json.string()));
  EXPECT_EQ(report["complete"], false);
  EXPECT_GE(report["results"].size(), 1u);
  EXPECT_GT(report["results_planned"].get<int>(), static_cast<int>(report["results"].size()));
  EXPECT_THAT(gpt2::read_file(junit.string()),
              HasSubstr("<property name=\"complete\" value=\"false\"/>"));
  // No temporary of either report is left behind.
  for (const auto& e : fs::directory_iterator(scratch()))
    EXPECT_THAT(e.path().filename().string(), Not(HasSubstr(".partial.")));
}

}  // namespace
}  // namespace gpt2::cli_test
