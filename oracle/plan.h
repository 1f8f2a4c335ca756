// The conformance plan: which scenarios a run judges, chosen so that their
// truths fit a time budget on this machine.
//
// The time of a conformance run is the time of its truths: per distinct
// (weights, tokens, mask), the 50-digit reference, the baseline ensemble
// (the reference at float, kStochasticRuns stochastic-rounding runs, three
// reordered-sum kernel sets), the budgets' gains at double, and, with
// replay, every op at 50 digits and in the ensemble again on the truth's
// inputs. That is estimated from the shape (reference/cost.h) and this
// machine's measured speed, before any of it is computed. The default plan
// (default_scenarios) is then cut to the budget, in order of value:
//   1. T = 1 (always kept, even beyond the budget: the smallest plan);
//   2. T = 7 (a few tokens: prefill, incremental, chunked, unmasked);
//   3. for a preset, the T = 7 scenarios at GPT-2's activations (act=gpt2);
//   4. T = n_ctx.
// A group that does not fit is shortened to the longest sequence that does
// (powers of two below n_ctx; below 7 for the short groups) or else dropped,
// and the plan's lines say which, with the estimates and how to ask for the
// full plan (--full-context). The run keeps the default order (1, 7, n_ctx,
// act=gpt2). A truth found in the truth cache costs nothing, but the plan
// does not count on it: the plan is the same whether the cache is warm or
// not, so a second run judges the same scenarios from the cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/profile.h"
#include "optimized/kernels.h"
#include "oracle/conformance.h"
#include "oracle/truth_cache.h"
#include "reference/cost.h"

namespace gpt2::oracle {

// This machine's speed at each scalar a truth uses.
struct PlanSpeeds {
  int threads = 1;
  reference::Speed digits50;    // on `threads`
  reference::Speed stochastic;  // StochasticFloat, on `threads`
  reference::Speed float32;     // one thread (the reordered-sum kernel sets)
  reference::Speed float64;     // on `threads` (the gains)
  reference::Speed dd;          // double-double, on `threads` (a --precision dd truth)
  std::string measured;         // "measured now", or "measured <date>, kept in the truth cache"
};

// Measures them (about half a second).
PlanSpeeds measure_plan_speeds(int threads);

// The speeds kept in `cache` for this machine and thread count, or measured
// now and kept there: a plan made again on the same machine is the same
// plan, so that a second run finds every truth of the first in the cache.
PlanSpeeds plan_speeds(const TruthCache& cache, int threads);

// Seconds of the truth of one (weights, tokens of length T, mask): the
// reference, the ensemble and the gains; plus, with `replay`, the replay
// reference.
// `dd`: the truth at double-double plus its 50-digit check of the first
// `dd_checked` positions (all of them without the causal mask;
// oracle/dd_truth.h); the replay reference stays at 50 digits.
double truth_seconds(const Config& config, int T, Mask mask, const PlanSpeeds& speeds, bool replay,
                     bool dd = false, int dd_checked = 8 /* kDdCheckedTokens */);

struct PlanOptions {
  uint64_t seed = 1;
  bool preset = false;          // the act=gpt2 scenarios (default_scenarios)
  double budget_seconds = 600;  // for the truths (--budget-minutes); 0: T = 1 alone
  bool full_context = false;    // the whole default plan, whatever it costs
  bool replay = true;
  bool dd_truth = false;                          // truths at double-double (--precision dd)
  std::string filter;                             // as ConformanceOptions::filter
  std::vector<const optimized::KernelSet*> sets;  // the kernel sets judged
  // --profile: every set judged under it; nullopt: each under its own.
  std::optional<Profile> profile;
};

struct PlannedScenario {
  Scenario scenario;
  double truth_seconds = 0;  // of the truths it is the first to need
  int results = 0;           // kernel sets it is judged on (after the filter)
};

struct ConformancePlan {
  std::vector<PlannedScenario> scenarios;  // in run order
  std::vector<std::string> changes;        // one line per group shortened or dropped
  double seconds = 0;                      // the plan's truths
  double full_seconds = 0;                 // the full plan's truths
  uint64_t bytes = 0;                      // estimated peak memory, weights included
  bool full() const { return changes.empty(); }
  std::vector<Scenario> scenario_list() const;
  // The plan's first lines: what runs, the estimate, what was shortened or
  // dropped and why, and how to ask for the full plan.
  std::vector<std::string> lines(const PlanOptions& options, const PlanSpeeds& speeds) const;
};

ConformancePlan plan_conformance(const Config& config, const PlanOptions& options,
                                 const PlanSpeeds& speeds);

}  // namespace gpt2::oracle
