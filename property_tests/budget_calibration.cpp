// budget_calibration: measures both sides of the oracle's error budget
// (oracle/tolerance.h) on random models from the property-test generators.
//
//   false alarms: real kernel sets (eigen, fast, bf16) judged beyond budget
//                 on correct arithmetic (target: none);
//   catch rate:   with --broken, how often each deliberately broken kernel
//                 set (oracle/broken_kernels.h) is judged beyond budget.
//
// Each model: a config from gen_config at RapidCheck size i % 101 (as a
// property run ramps its size), weights in the three modes in turn (gpt2,
// large_activations, near_constant_rows), tokens from gen_tokens; scenarios
// as in conformance: prefill, incremental decode, an irregular chunked
// prefill then decode, and a prefill without the mask.
//
//   budget_calibration --models 10000 --seed 1 [--broken] [--verbose]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "model/init.h"
#include "optimized/kernels.h"
#include "oracle/broken_kernels.h"
#include "oracle/conformance.h"
#include "oracle/tolerance.h"
#include "property_tests/generators.h"

namespace {

using namespace gpt2;
using properties::WeightMode;

struct Tally {
  int results = 0;
  int beyond_budget = 0;
  std::vector<double> worst_ratios;
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))];
}

std::vector<oracle::Scenario> scenarios_for(const std::vector<int>& tokens, uint64_t seed) {
  const int T = static_cast<int>(tokens.size());
  std::vector<oracle::Scenario> out = {{"prefill", tokens, {T}, Mask::causal}};
  if (T >= 2) out.push_back({"incremental", tokens, {1}, Mask::causal});
  if (T >= 3) {
    std::vector<int> chunks;
    for (int done = 0, i = 0; done < T - 1; ++i) {
      const int size = std::min(T - 1 - done, 1 + static_cast<int>(mix64(seed + i) % 4));
      chunks.push_back(size);
      done += size;
    }
    out.push_back({"chunked+decode", tokens, chunks, Mask::causal});
  }
  if (T >= 2) out.push_back({"prefill mask=none", tokens, {T}, Mask::none});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int models = 1000;
  uint64_t seed = 1;
  bool broken = false, verbose = false;
  int only = -1;  // --only I: model I alone, with every tensor's figures
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--models" && i + 1 < argc) models = std::atoi(argv[++i]);
    else if (a == "--seed" && i + 1 < argc) seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--broken") broken = true;
    else if (a == "--verbose") verbose = true;
    else if (a == "--only" && i + 1 < argc) only = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: budget_calibration [--models N] [--seed S] [--broken] [--verbose]\n");
      return 2;
    }
  }
  if (broken) oracle::register_broken_kernel_sets();
  std::vector<std::string> real, faulty;
  for (const auto& k : optimized::kernels())
    (k.name.rfind("broken-", 0) == 0 ? faulty : real).push_back(k.name);

  std::printf("budget_calibration: %d models, seed %llu; %s\n", models,
              static_cast<unsigned long long>(seed), oracle::describe_budget_rule().c_str());
  const WeightMode modes[] = {WeightMode::gpt2, WeightMode::large_activations,
                              WeightMode::near_constant_rows};
  std::map<std::pair<std::string, std::string>, Tally> tally;  // (kernel, mode)
  std::map<std::string, std::pair<int, int>> caught;           // broken kernel: (caught, models)
  const auto start = std::chrono::steady_clock::now();
  for (int i = only >= 0 ? only : 0; i < (only >= 0 ? only + 1 : models); ++i) {
    const uint64_t model_seed = mix64(seed * 0x9e3779b97f4a7c15ull + static_cast<uint64_t>(i));
    const int size = i % 101;
    properties::ModelCase m;
    m.config = properties::gen_config()(rc::Random(model_seed), size).value();
    m.weight_seed = mix64(model_seed + 1);
    m.mode = modes[i % 3];
    m.tokens = properties::gen_tokens(m.config)(rc::Random(mix64(model_seed + 2)), size).value();
    const Weights<float> weights = m.weights();
    const auto scenarios = scenarios_for(m.tokens, model_seed);

    oracle::ConformanceOptions options;
    options.seed = model_seed;
    options.threads = 1;
    options.kernels = real;
    const auto report = oracle::run_conformance(weights, scenarios, options);
    if (only >= 0) {
      std::printf("%s\n", properties::describe(m).c_str());
      for (const auto& r : report.results) {
        std::printf("%s: %s\n", r.name().c_str(), r.comparison.summary().c_str());
        for (const auto& t : r.comparison.tensors)
          std::printf("  %-8s error %.3g  E %.3g  floor %.3g  budget %.3g  scale %.3g  worst "
                      "value %.9g truth %.9g (position %d)\n",
                      t.name.c_str(), t.metrics.max_abs_error, t.budget.baseline_error,
                      t.budget.floor, t.budget.limit(), t.metrics.scale, t.metrics.worst_value,
                      t.metrics.worst_truth, t.worst_position);
      }
    }
    for (const auto& r : report.results) {
      Tally& t = tally[{r.kernel, properties::weight_mode_name(m.mode)}];
      ++t.results;
      t.worst_ratios.push_back(r.comparison.worst_ratio());
      if (!r.comparison.passed()) {
        ++t.beyond_budget;
        std::printf("FALSE ALARM model %d: %s\n  %s: %s\n", i, properties::describe(m).c_str(),
                    r.name().c_str(), r.comparison.summary().c_str());
      }
    }
    if (broken) {
      options.kernels = faulty;
      const auto bad = oracle::run_conformance(weights, scenarios, options);
      std::map<std::string, bool> any;
      for (const auto& r : bad.results) any[r.kernel] = any[r.kernel] || !r.comparison.passed();
      for (const auto& [kernel, failed] : any) {
        caught[kernel].first += failed;
        caught[kernel].second += 1;
      }
    }
    if (verbose || (i + 1) % 500 == 0) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "[%7.1f s] %d models\n", s, i + 1);
    }
  }

  std::printf("\nreal kernel sets (false alarms: results beyond budget on correct arithmetic)\n");
  std::printf("%-8s %-20s %8s %12s %10s %10s %10s\n", "kernel", "weights", "results",
              "false alarms", "median", "p99.9", "max ratio");
  int total = 0, alarms = 0;
  for (const auto& [key, t] : tally) {
    std::printf("%-8s %-20s %8d %12d %10.3g %10.3g %10.3g\n", key.first.c_str(),
                key.second.c_str(), t.results, t.beyond_budget, quantile(t.worst_ratios, 0.5),
                quantile(t.worst_ratios, 0.999), quantile(t.worst_ratios, 1.0));
    total += t.results;
    alarms += t.beyond_budget;
  }
  std::printf("total: %d results, %d false alarms\n", total, alarms);
  if (broken) {
    std::printf("\nbroken kernel sets (models on which any scenario was judged beyond budget)\n");
    for (const auto& [kernel, c] : caught)
      std::printf("%-32s caught on %5d of %5d models (%.1f%%)\n", kernel.c_str(), c.first,
                  c.second, 100.0 * c.first / std::max(1, c.second));
  }
  return alarms == 0 ? 0 : 1;
}
