// The baseline ensemble: legitimate float32 evaluations of GPT-2 on one case,
// whose worst error against the truth is the E of the budget
// (oracle/tolerance.h).
//
// A correct float32 engine differs from the truth by rounding, and how much
// depends on two freedoms it has: how each result is rounded and in which
// order each sum is taken. The members sample both:
//   reference-f32        the reference code at float: round to nearest, every
//                        sum ascending (the "naive float32 baseline")
//   stochastic-1..8      the same code in stochastic-rounding float32
//                        (oracle/stochastic_float.h): other rounding patterns;
//                        up to 32 runs where the first 8 disagree widely
//                        (tolerance.h, kWideSpread)
//   pairwise             every sum a pairwise tree; residual added before the bias
//   permuted-fma         every sum over a random permutation (seeded by the
//                        case), products fused, projections starting from the bias
//   lanes16-online       16 accumulator lanes with a halving horizontal add,
//                        fused products, a one-pass online softmax, queries
//                        scaled before the dot products
// (orders: oracle/ordered_kernels.h). Orders kept out of the ensemble on
// purpose (reversed, 4 and 8 lanes, k-blocked, other permutations) are the
// calibration's independent engines: the budget is shown to pass them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/profile.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/ordered_kernels.h"

namespace gpt2::oracle {

struct EnsembleMember {
  std::string name;         // "reference-f32", "stochastic-1", "pairwise", ...
  std::string description;  // one line
};
// The members in the order they run.
std::vector<EnsembleMember> ensemble_members();

// The reordered-sum members' orders for a case seeded with `seed`.
std::vector<std::pair<std::string, SummationOrder>> ensemble_orders(uint64_t seed);

struct EnsembleErrors {
  // Per tensor of `truth` (its forward order): the worst member's max error
  // (E) and the smallest member's (the error every member has: "shared").
  std::vector<double> worst;
  std::vector<double> shared;
  // The round-to-nearest reference at float alone (for reports).
  std::vector<double> float32;
  // Per member (reference-f32, the stochastic runs, then the reordered-sum
  // members), per tensor.
  std::vector<std::vector<double>> per_member;
  int stochastic_runs = 0;  // kStochasticRuns, or kWideStochasticRuns (tolerance.h)
};

// Runs every member in full mode with `mask` (at `truth`'s trace level) and
// measures each against `truth`. `seed` seeds the stochastic runs and the
// permutation. `threads` as in the reference. Under a precision profile
// (`weights` already rounded by round_weights) every member rounds at the
// profile's points: the reference code through reference::Options::profile,
// the reordered-sum members wrapped in optimized::ProfileRoundings.
EnsembleErrors ensemble_errors(const Weights<float>& weights, const std::vector<int>& tokens,
                               Mask mask, uint64_t seed, int threads, const Trace<double>& truth,
                               const Profile& profile = find_profile("f32"));

// One stochastic-rounding float32 run of the reference code (full mode),
// under `profile` when given.
Trace<double> stochastic_float32_run(const Weights<float>& weights, const std::vector<int>& tokens,
                                     Mask mask, uint64_t seed, int threads,
                                     TraceLevel level = TraceLevel::blocks,
                                     const Profile* profile = nullptr);

// One engine run of `set` over `tokens`: a single prefill with `mask`, the
// trace captured at `level`.
Trace<double> prefill_trace(const Weights<float>& weights, const optimized::KernelSet& set,
                            const std::vector<int>& tokens, Mask mask, TraceLevel level);

}  // namespace gpt2::oracle
