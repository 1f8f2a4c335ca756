// gpt2_oracle/testing.h: the conformance suite as a GoogleTest assertion.
#include <filesystem>

#include "gpt2_oracle/testing.h"
#include "model/checkpoint.h"
#include "model/error.h"
#include "oracle/conformance.h"
#include "oracle/report.h"

namespace gpt2::check {

optimized::KernelSet KernelsUnderTest::set(const std::string& fallback) const {
  optimized::KernelSet s = set_;
  if (s.name.empty()) s.name = fallback;
  return s;
}

namespace {

// The located findings of a failing report: per failing scenario, the
// trace's first finding and replay's verdict; then replay's summary per set.
std::string findings(const oracle::ConformanceReport& report, const std::string& kernel) {
  int failing = 0;
  std::string lines;
  for (const auto& r : report.results) {
    if (r.passed()) continue;
    ++failing;
    lines += "  " + r.scenario + ": " + r.comparison.summary() + "\n";
    if (r.replay && !r.replay->passed()) lines += "    replay: " + r.replay->summary() + "\n";
  }
  std::string out = "conformance of kernel set '" + kernel + "' on " + report.model + " (seed " +
                    std::to_string(report.seed) + "): " + std::to_string(failing) + " of " +
                    std::to_string(report.results.size()) + " scenarios fail\n" + lines;
  out += oracle::replay_section(report);
  out += "budget: " + report.budget_rule + "\n";
  return out;
}

// Replay's reproducer commands name the set with --kernel, which the CLI
// knows only for a registered set: keep the smallest failing case they
// describe ("--tokens 24,0 --op attention --layer 0 --rows 1"), not the command.
oracle::ConformanceReport without_commands(oracle::ConformanceReport report) {
  for (auto& r : report.results) {
    if (!r.replay) continue;
    for (auto& o : r.replay->ops) {
      const size_t kernel = o.reproduce.find(" --kernel ");
      const size_t tokens = o.reproduce.find(" --tokens ");
      if (kernel != std::string::npos && tokens != std::string::npos)
        o.reproduce = "(smallest failing case)" + o.reproduce.substr(tokens);
    }
  }
  return report;
}

}  // namespace

::testing::AssertionResult conforms(const optimized::KernelSet& set,
                                    const ConformanceCheck& check) {
  if (!set.create) return ::testing::AssertionFailure() << "the kernel set has no factory";
  try {
    const bool checkpoint = std::filesystem::is_directory(check.model);
    const Weights<float> weights =
        checkpoint ? load_checkpoint(check.model) : preset_weights(check.model);
    oracle::ConformanceOptions options;
    options.model = check.model;
    options.seed = check.seed;
    options.threads = check.threads;
    options.filter = check.filter;
    options.replay = check.replay;
    options.model_flags = checkpoint ? "--checkpoint " + check.model : "--model " + check.model;
    const auto scenarios = oracle::default_scenarios(weights.config, check.seed, !checkpoint);
    const oracle::ConformanceReport report =
        oracle::run_conformance(weights, scenarios, options, {&set});
    if (report.results.empty())
      return ::testing::AssertionFailure()
             << "no scenario matches the filter '" << check.filter << "'";
    ::testing::Test::RecordProperty("gpt2_oracle_scenarios",
                                    static_cast<int>(report.results.size()));
    if (report.passed()) {
      double worst = 0;
      for (const auto& r : report.results) worst = std::max(worst, r.comparison.worst_ratio());
      ::testing::Test::RecordProperty("gpt2_oracle_worst_ratio", oracle::format("%.3g", worst));
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << findings(without_commands(report), set.name);
  } catch (const InputError& e) {
    return ::testing::AssertionFailure() << "gpt2-oracle: " << e.what();
  }
}

::testing::AssertionResult assert_conforms(const char* kernels_text, const char*,
                                           const KernelsUnderTest& kernels,
                                           const ConformanceCheck& check) {
  return conforms(kernels.set(kernels_text), check);
}

}  // namespace gpt2::check
