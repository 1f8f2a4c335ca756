// Plugin sets through their child processes: they give the bits they give
// in-process, and every way a plugin can fail (missing, no entry point,
// another ABI version, a bad table, a crash, an abort, an exit, a hang, a
// NULL instance, garbage on the socket) is reported as that set's failure,
// located, while the oracle and the other sets go on.
#include "plugin/plugin.h"

#include <dlfcn.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <span>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/files.h"
#include "optimized/engine.h"
#include "oracle/conformance.h"
#include "oracle/report.h"
#include "plugin/c_kernels.h"

namespace gpt2::plugin {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string library(const std::string& name) {
  return std::string(GPT2_TEST_PLUGIN_DIR) + "/test_plugin_" + name + ".so";
}

PluginOptions options(double timeout_s = 30) {
  PluginOptions o;
  o.call_timeout_s = timeout_s;
  o.host_executable = GPT2_ORACLE_BINARY;
  return o;
}

// The plugin's set `name` (one of the library's), unregistered.
optimized::KernelSet set_of(const LoadedPlugin& p, const std::string& name,
                            const PluginOptions& o) {
  for (size_t i = 0; i < p.listing.sets.size(); ++i)
    if (p.listing.sets[i].name == name) return plugin_kernel_set(p, i, o);
  ADD_FAILURE() << "no set " << name << " in " << p.path;
  return plugin_kernel_set(p, 0, o);
}

// What the engine's trace of `tokens` (a prefill, then decode steps) throws.
std::string failure_running(const optimized::KernelSet& set, std::vector<int> tokens, int prefill) {
  const Weights<float> w = preset_weights("tiny");
  try {
    optimized::Engine engine(w, set, 1);
    engine.prefill(std::span<const int>(tokens).first(prefill));
    for (size_t i = prefill; i < tokens.size(); ++i) engine.decode(tokens[i]);
  } catch (const optimized::KernelSetFailure& e) {
    return e.what();
  }
  return "(no failure)";
}

TEST(Plugin, LoadingListsTheSetsOfTheLibrary) {
  const LoadedPlugin p = load_plugin(library("naive"), options());
  EXPECT_EQ(p.listing.abi_version, GPT2_ORACLE_PLUGIN_ABI_VERSION);
  ASSERT_EQ(p.listing.sets.size(), 1u);
  EXPECT_EQ(p.listing.sets[0].name, "naive-c");
  const LoadedPlugin faulty = load_plugin(library("crash_attention"), options());
  ASSERT_EQ(faulty.listing.sets.size(), 2u);
  EXPECT_EQ(faulty.listing.sets[1].name, "crash-attention");
  EXPECT_THAT(plugin_kernel_set(p, 0, options()).description,
              HasSubstr("(plugin test_plugin_naive.so)"));
}

// Determinism through the process boundary: the engine over the plugin's
// ops in the child gives bit for bit the trace of the same C set run in
// this process, for a prefill, chunks and decode steps.
TEST(Plugin, TheChildGivesTheBitsOfTheSameSetInProcess) {
  void* handle = dlopen(library("naive").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  auto entry =
      reinterpret_cast<gpt2_oracle_plugin_entry_fn>(dlsym(handle, GPT2_ORACLE_PLUGIN_ENTRY));
  ASSERT_NE(entry, nullptr);
  const optimized::KernelSet in_process = c_kernel_set(entry()->sets[0]);
  const LoadedPlugin p = load_plugin(library("naive"), options());
  const optimized::KernelSet remote = plugin_kernel_set(p, 0, options());
  const Weights<float> w = preset_weights("tiny");
  const std::vector<int> tokens = {5, 0, 63, 17, 3, 42, 8};
  for (int chunk : {7, 3}) {
    SCOPED_TRACE(chunk);
    std::vector<Trace<double>> traces;
    for (const auto* set : {&in_process, &remote}) {
      optimized::Engine engine(w, *set, 1);
      traces.push_back(make_trace<double>(w.config, 7, TraceLevel::ops));
      engine.set_capture(&traces.back());
      engine.prefill(std::span<const int>(tokens).first(chunk));
      for (size_t i = chunk; i < tokens.size(); ++i) engine.decode(tokens[i]);
    }
    for_each_trace_tensor(
        traces[0], [&](const std::string& name, std::vector<double>& a, const Shape&) {
          std::vector<double>* b = nullptr;
          for_each_trace_tensor(traces[1],
                                [&](const std::string& n, std::vector<double>& t, const Shape&) {
                                  if (n == name) b = &t;
                                });
          EXPECT_EQ(a, *b) << name;
        });
  }
}

// How many of `scenarios` are single sequences (a plugin set runs no batch).
size_t single_sequence(const std::vector<oracle::Scenario>& scenarios) {
  return static_cast<size_t>(std::count_if(scenarios.begin(), scenarios.end(),
                                           [](const auto& s) { return !s.is_batch(); }));
}

TEST(Plugin, ThePluginSetConformsOnTinyThroughItsChildProcesses) {
  const LoadedPlugin p = load_plugin(library("naive"), options());
  const optimized::KernelSet set = plugin_kernel_set(p, 0, options());
  const Weights<float> w = preset_weights("tiny");
  oracle::ConformanceOptions o;
  o.model = "tiny";
  const auto scenarios = oracle::default_scenarios(w.config, 1, false);
  const auto report = oracle::run_conformance(w, scenarios, o, {&set});
  EXPECT_TRUE(report.passed()) << oracle::format_table(report);
  // Every scenario but the batches: a plugin set runs single sequences
  // (KernelSet::runs_batches).
  ASSERT_EQ(report.results.size(), single_sequence(scenarios));
  EXPECT_TRUE(report.results.front().replay.has_value());
}

// ---- libraries that cannot be used: InputError (the CLI's exit 2) -----------

TEST(Plugin, AMissingLibraryIsBadInputNamingIt) {
  try {
    load_plugin("/nonexistent/libnothing.so", options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "plugin /nonexistent/libnothing.so: no such file");
  }
}

TEST(Plugin, ALibraryWithoutTheEntryPointIsBadInput) {
  try {
    load_plugin(library("no_entry"), options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test_plugin_no_entry.so: the library exports no "
                                    "gpt2_oracle_plugin_entry"));
  }
}

TEST(Plugin, AnotherAbiVersionIsBadInputNamingBothVersions) {
  try {
    load_plugin(library("wrong_version"), options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test_plugin_wrong_version.so: the table declares ABI "
                                    "version 2; this gpt2-oracle reads version 1"));
  }
}

TEST(Plugin, ATableWithoutARequiredOpIsBadInput) {
  try {
    load_plugin(library("bad_table"), options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("set 1 'bad-table': attention is NULL (required)"));
  }
}

TEST(Plugin, AFileThatIsNoLibraryIsBadInput) {
  try {
    load_plugin(GPT2_TEST_PLUGIN_DIR, options());  // a directory
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not a regular file"));
  }
  const std::string text = std::string(GPT2_TEST_PLUGIN_DIR) + "/not_a_library.so";
  write_file_atomic(text, "plain text\n");
  try {
    load_plugin(text, options());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not_a_library.so: cannot load the library: "));
  }
}

// ---- the entry point fails: the library's failure, not the oracle's ---------

TEST(Plugin, AnEntryPointThatCrashesIsTheLibrarysFailure) {
  try {
    load_plugin(library("crash_entry"), options());
    FAIL();
  } catch (const optimized::KernelSetFailure& e) {
    EXPECT_THAT(e.what(), HasSubstr("crashed (signal 11) in gpt2_oracle_plugin_entry"));
    EXPECT_FALSE(e.hung());
  }
}

TEST(Plugin, AnEntryPointThatHangsIsStoppedAtTheLimit) {
  const auto start = std::chrono::steady_clock::now();
  try {
    load_plugin(library("hang_entry"), options(0.5));
    FAIL();
  } catch (const optimized::KernelSetFailure& e) {
    EXPECT_THAT(e.what(), HasSubstr("hung (no answer within 0.5 s) in gpt2_oracle_plugin_entry"));
    EXPECT_TRUE(e.hung());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

// ---- a set fails while running: located at the op, the layer and the pass ---

TEST(Plugin, ASegfaultIsLocatedAtItsOpLayerAndPass) {
  const LoadedPlugin p = load_plugin(library("crash_attention"), options());
  EXPECT_EQ(failure_running(set_of(p, "crash-attention", options()), {5, 17, 3, 42}, 4),
            "crashed (signal 11) in block.0 attention (prefill of positions 0-3)");
  // The library's other set is unaffected.
  EXPECT_EQ(failure_running(set_of(p, "naive-c", options()), {5, 17, 3, 42}, 4), "(no failure)");
}

TEST(Plugin, AnAbortIsLocated) {
  const LoadedPlugin p = load_plugin(library("abort_logits"), options());
  EXPECT_EQ(failure_running(set_of(p, "abort-logits", options()), {5, 17, 3}, 1),
            "crashed (signal 6) in logits (prefill of position 0)");
}

TEST(Plugin, AnExitIsLocated) {
  const LoadedPlugin p = load_plugin(library("exit_project"), options());
  EXPECT_EQ(failure_running(set_of(p, "exit-project", options()), {5, 17}, 2),
            "exited (status 3) in block.0 project_gelu fc (prefill of positions 0-1)");
}

TEST(Plugin, AHangIsStoppedAtTheLimitAndLocated) {
  const LoadedPlugin p = load_plugin(library("hang_attention"), options(0.5));
  const auto start = std::chrono::steady_clock::now();
  try {
    optimized::Engine engine(preset_weights("tiny"), set_of(p, "hang-attention", options(0.5)), 1);
    engine.prefill(std::vector<int>{1});
    engine.decode(2);
    FAIL();
  } catch (const optimized::KernelSetFailure& e) {
    EXPECT_STREQ(e.what(),
                 "hung (no answer within 0.5 s) in block.1 attention (prefill of position 0)");
    EXPECT_TRUE(e.hung());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(Plugin, ANullInstanceIsTheSetsFailure) {
  const LoadedPlugin p = load_plugin(library("null_create"), options());
  EXPECT_THAT(failure_running(set_of(p, "null-create", options()), {1}, 1),
              StartsWith("create returned NULL"));
}

TEST(Plugin, GarbageOnTheSocketIsAProtocolBreachNotACrashOfTheOracle) {
  const LoadedPlugin p = load_plugin(library("garbage"), options(5));
  EXPECT_THAT(failure_running(set_of(p, "garbage", options(5)), {1, 2}, 2),
              StartsWith("broke the protocol (a message without the protocol's magic number) in "
                         "block.0 attention"));
}

// ---- in the suite: the failing set fails, the others pass --------------------

TEST(Plugin, ConformanceReportsACrashAsTheSetsFailureAndGoesOn) {
  const LoadedPlugin p = load_plugin(library("crash_attention"), options());
  const optimized::KernelSet crashing = set_of(p, "crash-attention", options());
  const optimized::KernelSet good = set_of(p, "naive-c", options());
  const Weights<float> w = preset_weights("tiny");
  oracle::ConformanceOptions o;
  o.model = "tiny";
  o.filter = "T=7";
  const auto report = oracle::run_conformance(w, oracle::default_scenarios(w.config, 1, false), o,
                                              {&crashing, &good});
  EXPECT_FALSE(report.passed());
  int crashed = 0, passed = 0;
  for (const auto& r : report.results) {
    if (r.kernel == "naive-c") {
      passed += r.passed();
      continue;
    }
    EXPECT_THAT(r.comparison.failure, StartsWith("crashed (signal 11) in block.0 attention"))
        << r.name();
    EXPECT_FALSE(r.replay.has_value()) << "no replay after a failure to run";
    ++crashed;
  }
  EXPECT_EQ(crashed, passed);
  EXPECT_GE(crashed, 4);
  const std::string table = oracle::format_table(report);
  EXPECT_THAT(table, HasSubstr("crashed (signal 11) in block.0 attention (prefill of positions "
                               "0-6)"));
}

TEST(Plugin, ConformanceStopsRunningASetAfterItHangs) {
  const LoadedPlugin p = load_plugin(library("hang_attention"), options(0.5));
  const optimized::KernelSet hanging = set_of(p, "hang-attention", options(0.5));
  const Weights<float> w = preset_weights("tiny");
  oracle::ConformanceOptions o;
  o.model = "tiny";
  const auto scenarios = oracle::default_scenarios(w.config, 1, false);
  const auto start = std::chrono::steady_clock::now();
  const auto report = oracle::run_conformance(w, scenarios, o, {&hanging});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(report.results.size(), single_sequence(scenarios));
  EXPECT_THAT(report.results[0].comparison.failure,
              StartsWith("hung (no answer within 0.5 s) in block.1 attention"));
  for (size_t i = 1; i < report.results.size(); ++i)
    EXPECT_EQ(report.results[i].comparison.failure, "not run: the set hung in 'prefill T=1'");
}

}  // namespace
}  // namespace gpt2::plugin
