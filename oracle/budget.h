// The truth of one case (weights, tokens, mask) and every piece of the error
// budget of each of its tensors (oracle/tolerance.h): the baseline errors of
// the ensemble, the floors, and the gains of the tensor graph.
#pragma once

#include <cstdint>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

struct Reference {
  // The reference at 50 digits (full mode), rounded to double, at op level.
  Trace<double> truth;
  // Per tensor of the truth (forward order): E, the ensemble's worst max
  // error (oracle/ensemble.h).
  std::vector<double> baseline_errors;
  // Per tensor: the ensemble's smallest max error (tolerance.h, "shared").
  std::vector<double> shared_errors;
  // The round-to-nearest float32 reference alone, per tensor (for reports).
  std::vector<double> float32_errors;
  // Per tensor: K, E, floor and the inputs with their gains.
  std::vector<Budget> budgets;
};

// S per tensor of `truth` (forward order; see kFloorUlps), from the truth, the
// weights and the mask (which keys each query's attention sums over).
std::vector<double> term_scales(const Trace<double>& truth, const Weights<float>& weights,
                                Mask mask);

// The budgets from the ensemble's errors, the truth and the weights: floors at
// term_scales, the inputs of each tensor (the graph of tolerance.h) and their
// gains measured at the truth (`seed` draws the directions; `threads` runs
// the maps' loops, without changing a bit).
std::vector<Budget> make_budgets(const std::vector<double>& baseline_errors,
                                 const std::vector<double>& shared_errors,
                                 const Trace<double>& truth, const Weights<float>& weights,
                                 Mask mask, uint64_t seed, int threads = 1);

// Runs the reference at 50 digits (op level) and the baseline ensemble on
// `weights`. `seed` seeds the ensemble's stochastic runs and permutation and
// the gains' directions. `threads` as in the reference. `progress`: the
// reference's progress lines and one line per stage on stderr.
Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads, bool progress = false);

// The budgets of a block-level view of `r` (for a block-level case file):
// embed, block.{l} (with its whole-block input edge), ln_f, logits.
std::vector<Budget> block_level_budgets(const Reference& r);

}  // namespace gpt2::oracle
