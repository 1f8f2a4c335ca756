// --plugin on the command line: conformance, fixtures verify, replay and
// kernels run a plugin's sets; a library that cannot be used is exit 2 with
// one line naming it; a set that crashes or hangs is that set's failure
// (exit 1), located, and the other sets and the reports go on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/cli_test_support.h"

namespace gpt2::cli_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string library(const std::string& name) {
  return std::string(GPT2_TEST_PLUGIN_DIR) + "/test_plugin_" + name + ".so";
}

std::string source_dir() {
  const char* dir = std::getenv("GPT2_ORACLE_SOURCE_DIR");
  return dir ? dir : ".";
}

TEST(PluginCli, KernelsListsThePluginsSetsAfterTheBuiltInOnes) {
  const Result r = run("kernels --plugin " + library("crash_attention"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("fast  "));
  EXPECT_THAT(r.out, HasSubstr("\nnaive-c  textbook loops in C"));
  EXPECT_THAT(r.out, HasSubstr("\ncrash-attention  the example set with a fault: crash-attention "
                               "(plugin test_plugin_crash_attention.so)\n"));
  EXPECT_EQ(r.err, "");
}

TEST(PluginCli, ConformanceOfAPluginRunsItsSetsAndPasses) {
  const Result r = run("conformance --plugin " + library("naive") + " --threads 1");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("naive-c"));
  EXPECT_THAT(r.out, Not(HasSubstr(" fast ")));  // without --kernel, only the plugin's sets
  EXPECT_THAT(r.out, HasSubstr("naive-c: every op within budget"));
}

TEST(PluginCli, AMissingLibraryIsBadInputOnEveryVerb) {
  for (const std::string& verb : std::vector<std::string>{
           "conformance", "kernels", "replay --tokens 1,2",
           "fixtures verify " + source_dir() + "/fixtures/golden/tiny-causal-T5"})
    expect_bad_input(verb + " --plugin /nonexistent/libmissing.so",
                     "plugin /nonexistent/libmissing.so: no such file");
}

TEST(PluginCli, ALibraryWithoutTheEntryPointIsBadInput) {
  expect_bad_input("conformance --plugin " + library("no_entry"),
                   "test_plugin_no_entry.so: the library exports no gpt2_oracle_plugin_entry");
}

TEST(PluginCli, AnotherAbiVersionIsBadInput) {
  expect_bad_input("conformance --plugin " + library("wrong_version"),
                   "test_plugin_wrong_version.so: the table declares ABI version 2; this "
                   "gpt2-oracle reads version 1");
}

TEST(PluginCli, AnEntryPointThatCrashesIsExit1OnOneLine) {
  const Result r = run("kernels --plugin " + library("crash_entry"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(line_count(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("test_plugin_crash_entry.so: crashed (signal 11) in "
                               "gpt2_oracle_plugin_entry"));
  EXPECT_EQ(r.out, "");
}

// The crash report: the crashing set fails every scenario, located, and the
// library's correct set passes beside it; JSON and JUnit agree.
TEST(PluginCli, ACrashIsThatSetsFailureAndTheReportsSayWhere) {
  const std::string json = (scratch() / "crash.json").string();
  const std::string junit = (scratch() / "crash.xml").string();
  const Result r = run("conformance --plugin " + library("crash_attention") +
                       " --filter T=7 --threads 1 --json " + json + " --junit " + junit);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("crash-attention  "));
  EXPECT_THAT(r.out, HasSubstr("crashed (signal 11) in block.0 attention (prefill of positions "
                               "0-6)"));
  EXPECT_THAT(r.out, HasSubstr("naive-c: every op within budget"));
  EXPECT_THAT(r.out, HasSubstr("result: 10 of 20 pass -- FAIL"));
  const std::string validate = "/usr/bin/python3 " + source_dir() + "/oracle/validate_reports.py " +
                               json + " " + junit + " 10";
  EXPECT_EQ(exit_code(std::system(validate.c_str())), 0);
  EXPECT_THAT(read_file(junit), HasSubstr("FAIL: crashed (signal 11) in block.0 attention"));
}

TEST(PluginCli, AHangIsStoppedAtTheLimitAndTheSetsOtherScenariosAreNotRun) {
  const Result r = run("conformance --plugin " + library("hang_attention") +
                           " --kernel hang-attention --plugin-timeout 0.5 --threads 1",
                       60);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("hung (no answer within 0.5 s) in block.1 attention (prefill of "
                               "position 0)"));
  EXPECT_THAT(r.out, HasSubstr("not run: the set hung in 'prefill T=1'"));
}

TEST(PluginCli, WrongNumbersAreLocatedByTheTraceAndByReplay) {
  const Result r = run("conformance --plugin " + library("unscaled") +
                       " --kernel unscaled --filter 'prefill T=7' --threads 1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("block.0 attn, position 1"));
  EXPECT_THAT(r.out, HasSubstr("attention beyond budget in blocks 0,1"));
  // The reproducer loads the plugin too.
  EXPECT_THAT(r.out, HasSubstr("reproduce: gpt2-oracle replay --model tiny --plugin " +
                               library("unscaled") + " --kernel unscaled"));
}

TEST(PluginCli, FixturesVerifyAndReplayRunAPluginsSets) {
  const std::string golden = source_dir() + "/fixtures/golden/tiny-causal-T5";
  Result r = run("fixtures verify " + golden + " --plugin " + library("naive"));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("naive-c"));
  r = run("fixtures verify " + golden + " --plugin " + library("crash_attention") +
          " --kernel crash-attention");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out, HasSubstr("crashed (signal 11) in block.0 attention"));
  r = run("replay --plugin " + library("crash_attention") + " --tokens 5,17,3 --threads 1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("replay [crash-attention]: crashed (signal 11) in block.0 attention"));
  EXPECT_THAT(r.out, HasSubstr("replay [naive-c]: every op within budget"));
  expect_bad_input(
      "fixtures verify " + golden + " --trace x.safetensors --plugin " + library("naive"),
      "--trace and --plugin exclude each other");
}

}  // namespace
}  // namespace gpt2::cli_test
