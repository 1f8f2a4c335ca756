// The flip allowance of a precision profile (model/profile.h): what a correct
// engine may add to a tensor's error because a value it rounds to a short
// format at a declared point lay within float32 noise of a rounding boundary.
//
// Rounding to bf16 or f16 is discontinuous. Where the exact pre-rounding
// value x lies within ν of a boundary between two neighbouring values of the
// format, ν the float32 error a correct engine may have in x, the engine may
// land on the neighbour: one unit u(x) of the format away from the truth's
// rounded value, an error that no float32 argument bounds. Elsewhere both
// round to the same value and the rounding adds no error at all. So, per
// declared point, over the elements of the tensor rounded there:
//
//   at risk     dist(x, nearest boundary) <= ν
//   F           max over x of |R(x ± ν) - R(x)|: u(x) for an element at risk,
//               more where ν spans several values of the format, 0 when no
//               element is at risk (rounding_spread)
//
// and F reaches the tensor the rounded values feed as a change of one of its
// inputs, through the gain of that edge of the tensor graph (oracle/
// tolerance.h: |δ out|∞ / |δ in|∞, measured on the map without the rounding,
// which is the map a value that does not flip sees):
//
//   point            rounded values (x)           ν                      allowance added to
//   matmul_inputs    ln_1, attn, ln_2, gelu, ln_f  its K·E + floor        qkv, mid, gelu, block,
//   logits: gain × F kv_cache         k and v columns of qkv         qkv's K·E + floor      attn:
//   gain(attn <- qkv) × F residual         embed, mid, block.l before     the tensor's K·E+floor
//   the tensor itself: F
//                    rounding (recomputed in double
//                    from the truth's inputs)
//   gelu table_f16   the input u (c_fc's output)   gain(u<-ln_2)·ν(ln_2)  gelu: the farthest the
//   table's
//                    and the entry's exact value g  + kFloorUlps ulp(S_u); output can be from the
//                    truth's at f16(u)                      for g: the float32     over an input
//                    within ν of u
//                                                   formula's error        (its f16 rounding or the
//                                                   clamp (table_entry_noise)    may change) and an
//                                                   entry within
//                                                                          its noise of g (may
//                                                                          round to a neighbour, or
//                                                                          two where 1 + tanh
//                                                                          cancels)
//
// ν is the error the engine under test may have in x. Ahead of any trace
// (the budget's flip_allowance) it is the rounded tensor's own float32
// allowance, K·E + floor: the members of the ensemble round at the same
// points, so a member that flipped has raised E itself. But a correct engine
// may also carry an inherited error into x (its inputs' excess through their
// gains, tolerance.h): the budget admits that much more in x, and that much
// more may flip. Only the judging of one trace knows it, so where x is a
// traced tensor (the matmul inputs ln_1, attn, ln_2, gelu, ln_f and the
// cache's k and v columns of qkv: each op records its output before the
// rounding) compare_traces raises ν to the error the trace has in x, or to
// x's whole limit where the trace lacks x, and recomputes F from x's truth
// (Budget::flip_edges). A broken engine cannot use this: an error in x large
// enough to flip more is an error in x, judged against x's own limit; only
// within it does the allowance follow. (Without this, budget_calibration
// --profile found false alarms at 1.02-6.45 times the limit, each in a
// consumer of a rounded tensor whose error exceeded its own allowance by an
// inherited part.) The residual and the GELU table round values no trace
// holds (the residual's pre-rounding sums, c_fc's output u): their ν stays
// the own allowance.
//
// Each flip moves the rounded value by at most one unit; several at once are
// a perturbation of the input like any other, bounded through the gain by
// the largest of them (the gains are measured on random sign vectors over
// every element, tolerance.h).
//
// The pre-rounding values are the truth's, in double (the 50-digit values
// rounded to double, or recomputed in double from them): their own error,
// ~1e-16 relative, is far below any ν (~1e-7 relative).
//
// attention_probs is not derived here (the probabilities are not traced): a
// profile that rounds them is refused (InputError) by compute_reference.
#pragma once

#include <vector>

#include "model/profile.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

// The farthest the rounding of a value within `noise` of x can be from the
// rounding of x: max(|R(x + noise) - R(x)|, |R(x - noise) - R(x)|), R the
// rounding to `format` (monotonic, so the ends bound every value between).
// One unit of the format at x when x lies within `noise` of one boundary,
// more when the noise spans several values, 0 when it reaches none.
double rounding_spread(FloatFormat format, double x, double noise);

// max over x in `values` of rounding_spread(format, x, noise): F below.
double flip_size(FloatFormat format, const std::vector<double>& values, double noise);

// Op-level indices in forward order (model/trace.h): embed, then per block
// ln_1 qkv attn mid ln_2 gelu block (k = 0 .. 6), then ln_f, logits.
inline int op_index(int layer, int k) { return 1 + 7 * layer + k; }

// K·E + floor of a tensor: its allowance before anything inherited or flipped.
double own_allowance(const Budget& b);

// F of one flip edge at noise ν: flip_size over the rounded tensor's truth
// `values` (rows of `width`), over the key and value columns only for the
// KV cache.
double edge_flip_size(const FlipEdge& edge, const std::vector<double>& values, int width,
                      double noise);

// Sets the flip edges of `profile` (its roundings of traced tensors: the
// matmul inputs and the KV cache) on op-level `budgets` whose gains are set.
// add_flip_allowances calls it; so do the readers of stored budgets (truth
// cache, case files), which store flip_allowance but not the edges.
void set_flip_edges(std::vector<Budget>& budgets, const Profile& profile, int n_layer);

// InputError unless the oracle can judge `profile`: one that rounds the
// attention probabilities has no derived allowance yet. Callers check it
// before any work.
void check_judgeable(const Profile& profile);

// Adds each declared point's allowance of `profile` to `budgets` (the
// op-level truth's, forward order, gains measured: make_budgets) on the
// truth of `tokens` with the rounded `weights` (round_weights). `seed` draws
// the directions of the one gain measured here (u <- ln_2, for the table).
void add_flip_allowances(std::vector<Budget>& budgets, const Trace<double>& truth,
                         const Weights<float>& weights, const std::vector<int>& tokens,
                         const Profile& profile, uint64_t seed, int threads);

}  // namespace gpt2::oracle
