// The error budget: how far from the truth a float32 implementation may be.
//
// Every tolerance of the oracle is in this file. The rule (DESIGN, numerics
// policy): an implementation passes a tensor when
//
//     max |value - truth|  <=  K · E_baseline  +  floor
//
// where truth is the reference at 50 digits, E_baseline is the max error of
// the naive float32 baseline on the same tensor, and floor is a few float32
// ULPs of the tensor's scale (max |truth|).
//
// The baseline (oracle/baseline.h) is not one float32 run but the worst of
// an ensemble: the reference code instantiated at float (round to nearest,
// the "naive float32 baseline") and kStochasticRuns runs of the same code in
// float32 arithmetic whose every result is rounded up or down at random
// (oracle/stochastic_float.h). Each stochastic run is one legitimate float32
// evaluation with a different rounding pattern, as a different summation
// order or fusion would give; the worst of the ensemble estimates the upper
// end of what float32 arithmetic gives on this model and these tokens, rather
// than one lucky draw (a LayerNorm over a few channels has a baseline error
// of a single rounding, which can be nearly zero by chance).
#pragma once

#include <string>

namespace gpt2::oracle {

// Stochastic-rounding runs in the baseline ensemble (plus the
// round-to-nearest run). Derivation: see kBudgetMultiplier.
inline constexpr int kStochasticRuns = 3;

// K. A stochastic rounding error is up to 1 ULP per operation against 1/2
// ULP for round-to-nearest, so each stochastic run's error is already about
// twice that of a round-to-nearest implementation with the same number of
// roundings; K = 2 on top of the ensemble's worst allows a kernel twice as
// many roundings on its critical path (online softmax rescales its running
// sum once per key; a blocked reduction adds a rounding per block) before it
// is called wrong. The false-alarm and catch rates this gives are measured in
// oracle/budget_calibration (see the README's conformance section).
inline constexpr double kBudgetMultiplier = 2.0;

// floor = kFloorUlps · ulp_f32(S), S the magnitude of the terms whose sum
// makes the tensor (first-order error analysis: a sum of terms t_i computed
// in any order with r roundings is off by at most about r·u·Σ|t_i|):
//   embed     S = max |embed|                       (wte + wpe: one rounding)
//   block.l   S = max_e |x_in| + |x_out - x_in|     (the residual sum x_in +
//               attention + MLP: when the branches cancel x_in, the result is
//               far smaller than its terms, and a kernel that adds them in
//               another order -- (x + W·a) + b instead of x + (W·a + b) --
//               rounds at the terms' scale, not the result's)
//   ln_f      S = max |ln_f|
//   logits    S = max_{t,v} Σ_c |ln_f[t,c]·wte[v,c]|  (the dot products:
//               grows with the reduction length C and with cancellation)
// It covers what the ensemble cannot see: roundings the reference's order
// happens not to make (a sum that is exact there by Sterbenz's lemma) but
// another correct order does. Where the ensemble is exact on a tensor (embed
// is the same single rounding in every correct implementation), a kernel is
// still allowed kFloorUlps roundings at S.
inline constexpr double kFloorUlps = 4.0;

// A tensor also inherits the error of its input: whatever error the kernel
// under test made in the previous tensor (forward order) reaches this one
// multiplied by the gain of the map between them, and the tensor is allowed
// that on top of its own arithmetic. The ensemble cannot show this when its
// own upstream errors happen to be smaller than the kernel's (still within
// budget), or to cancel in the map. The gains:
//   block.l  measured at the truth, in double, along random sign directions
//            (oracle/baseline.cpp, block_gains): a residual block passes its
//            input through with gain ~1, more through a softmax near one-hot;
//   ln_f     y_c = g_c·(x_c - mean)/σ + b_c, σ = sqrt(var(x) + eps):
//            |δy|∞ <= max_c |g_c|·(2 + |x̂_c|)/σ · |δx|∞ per row (the row of
//            the Jacobian diag(g)/σ·(I - 11ᵀ/C - x̂x̂ᵀ/C), with mean|x̂| <= 1):
//            up to 1/sqrt(eps) over nearly constant rows;
//   logits   |δlogit_v| <= Σ_c |wte[v][c]| · |δh|∞.
// The inherited part uses the kernel's actual max error in the input tensor
// (or, when a trace does not carry the input, the input's whole budget), so
// a correct kernel with small upstream errors keeps a tight budget.
struct Budget {
  double baseline_error = 0;  // E_baseline
  double multiplier = kBudgetMultiplier;
  double floor = 0;
  double gain = 0;       // of the map from the previous tensor (0 for embed)
  double inherited = 0;  // gain × the input's error, set when judging a trace
  double limit() const { return multiplier * baseline_error + floor + inherited; }
};

// The budget of one tensor from its baseline error and the magnitude S of
// the terms that make it (see kFloorUlps).
Budget make_budget(double baseline_error, double term_scale);

// The rule spelled out, for reports.
std::string describe_budget_rule();

}  // namespace gpt2::oracle
