// The truth and the float32 baseline of one case (weights, tokens, mask):
// what every implementation's trace is compared against.
#pragma once

#include <cstdint>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

struct Reference {
  Trace<double> truth;  // the reference at 50 digits (full mode), rounded to double
  // Per tensor (forward order): the baseline ensemble's max error against the
  // truth (oracle/tolerance.h): the worst of the float32 reference and
  // kStochasticRuns stochastic-rounding runs.
  std::vector<double> baseline_errors;
  // The round-to-nearest float32 reference alone, per tensor (for reports).
  std::vector<double> float32_errors;
  // Per tensor (forward order): K·E + floor + propagated, the rule of
  // oracle/tolerance.h.
  std::vector<Budget> budgets;
};

// S per tensor from the truth and the weights (see kFloorUlps).
std::vector<double> term_scales(const Trace<double>& truth, const Weights<float>& weights);

// The budgets from the baseline errors, the truth and the weights: floors
// at term_scales, and the gains from each tensor's input (tolerance.h):
// measured for the blocks (`seed` draws the random directions), computed
// for ln_f and the logits.
std::vector<Budget> make_budgets(const std::vector<double>& baseline_errors,
                                 const Trace<double>& truth, const Weights<float>& weights,
                                 Mask mask, uint64_t seed);

// Runs the reference at 50 digits and the baseline ensemble on `weights`.
// The stochastic runs are seeded from `seed`. `threads` as in the reference.
Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads);

// One stochastic-rounding float32 run of the reference code (full mode).
Trace<double> stochastic_float32_run(const Weights<float>& weights,
                                     const std::vector<int>& tokens, Mask mask, uint64_t seed,
                                     int threads);

}  // namespace gpt2::oracle
