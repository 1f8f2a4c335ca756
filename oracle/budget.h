// The truth of one case (weights, tokens, mask) and every piece of the error
// budget of each of its tensors (oracle/tolerance.h): the baseline errors of
// the ensemble, the floors, and the gains of the tensor graph.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/profile.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/tolerance.h"
#include "reference/reference.h"

namespace gpt2::oracle {

struct Reference {
  // The reference at 50 digits, or at double-double where that is certified
  // (oracle/dd_truth.h), in full mode, rounded to double, at op level.
  Trace<double> truth;
  // "50" or "dd": the precision the truth was computed at.
  std::string truth_precision = "50";
  // The precision profile the truth and the ensemble round under
  // (model/profile.h): "f32", or a built-in's or a profile file's name.
  std::string profile = "f32";
  // A dd truth only: per tensor (forward order) its certified digits, and
  // how many leading positions were checked against the 50-digit run.
  std::vector<int> certified_digits;
  int checked_tokens = 0;
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

// The gain of a map f at x (tolerance.h, kGainDirections): max over random
// sign vectors s of |f(x + h·s) - f(x)|∞ / h, h = 2^-20·max|x|, the
// directions drawn from `seed`.
double measured_gain(const std::vector<double>& x,
                     const std::function<std::vector<double>(const std::vector<double>&)>& f,
                     uint64_t seed);

// The budgets from the ensemble's errors, the truth and the weights: floors at
// term_scales, the inputs of each tensor (the graph of tolerance.h) and their
// gains measured at the truth (`seed` draws the directions; `threads` runs
// the maps' loops, without changing a bit).
std::vector<Budget> make_budgets(const std::vector<double>& baseline_errors,
                                 const std::vector<double>& shared_errors,
                                 const Trace<double>& truth, const Weights<float>& weights,
                                 Mask mask, uint64_t seed, int threads = 1);

// How the truth is computed: at 50 digits, or at double-double certified
// against 50 digits on the first `dd_checked_tokens` positions (all of them
// when the mask is not causal) and by the a-priori bound beyond
// (oracle/dd_truth.h).
struct TruthPrecision {
  reference::Precision precision = reference::Precision::digits50;  // digits50 or dd
  int dd_checked_tokens = 8;                                        // kDdCheckedTokens
};

// Runs the reference (op level) and the baseline ensemble on `weights`.
// `seed` seeds the ensemble's stochastic runs and permutation and the gains'
// directions. `threads` as in the reference. `progress`: the reference's
// progress lines and one line per stage on stderr. A dd truth that cannot
// certify kMinDdCertifiedDigits on every tensor is replaced by the 50-digit
// one, with a line on stderr saying which tensor fell short.
// Under a precision profile other than f32 (`weights` already rounded by
// round_weights), the truth is exact arithmetic given the profile's
// roundings, every ensemble member rounds at the same points, the gains are
// the maps' without the roundings, and each budget gets its flip allowance
// (oracle/flips.h). A profile that rounds the attention probabilities is an
// InputError (no derived allowance yet).
Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads, bool progress = false,
                            const TruthPrecision& precision = {},
                            const Profile& profile = find_profile("f32"));

// The budgets of a block-level view of `r` (for a block-level case file):
// embed, block.{l} (with its whole-block input edge), ln_f, logits.
std::vector<Budget> block_level_budgets(const Reference& r);

}  // namespace gpt2::oracle
