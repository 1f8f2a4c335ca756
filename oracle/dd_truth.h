// The double-double truth (`--precision dd`) and its certificate.
//
// A dd truth is the reference's own forward<Real> at Real = DoubleDouble
// (reference/double_double.h): ~32 digits at the speed of the hardware. The
// truth of record stays the 50-digit reference; a dd truth is used for a
// tensor only when it shows at least kMinDdCertifiedDigits digits there,
// certified by
//   (a) agreement with the 50-digit run on the first `checked` positions
//       (all of them when affordable; with the causal mask a prefix of the
//       tokens gives exactly the prefix rows, so a long case is checked on
//       its first positions), and
//   (b) for the positions after them, an a-priori bound (dd_error_bound):
//       the float32 budget of the tensor, which bounds what float32
//       roundings make of this case through its measured gains, scaled by
//       the ratio of the two arithmetics' worst relative error per
//       operation, times kDdBoundSafety.
// The certified digits of a tensor are the smaller of (a) and (b). When some
// tensor falls short, compute_reference (oracle/budget.h) says so and
// computes the 50-digit truth instead.
#pragma once

#include <string>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/tolerance.h"
#include "reference/double_double.h"
#include "reference/reference.h"

namespace gpt2::oracle {

// Below this many certified digits on a tensor, a dd truth is not used.
// (A float32 budget is of order 1e-7 of a tensor's scale; 20 digits keep the
// truth's own error below 1e-13 of it.)
inline constexpr int kMinDdCertifiedDigits = 20;
// Positions checked against 50 digits by default when the mask is causal
// (conformance): the 50-digit cost of 8 tokens, whatever T is.
inline constexpr int kDdCheckedTokens = 8;
// The bound (b) is first-order in the roundings, like the budget it scales,
// and the budget is calibrated on the errors correct float32 engines make,
// whose roundings fall at random. A worst case aligns them: for sums of n
// terms that is up to √n more than a random walk (√(10⁶) = 10³ covers every
// reduction of GPT-2 XL at full context). Three digits of margin.
inline constexpr double kDdBoundSafety = 1e3;
// The worst relative error of one dd operation (reference/double_double.h:
// 16u², u = 2⁻⁵³) over that of one float32 operation (2⁻²⁴).
inline constexpr double kDdOverFloat32Rounding =
    reference::kWorstOpErrorInUnits * reference::kUnitRoundoffSquared / 0x1p-24;

// A tensor's dd error bound from its float32 budget (K·E + floor: what the
// float32 rule admits of a correct float32 engine that inherits nothing
// extra): that times kDdOverFloat32Rounding·kDdBoundSafety.
double dd_error_bound(const Budget& float32_budget);

// Per tensor (forward order, op level) of a dd truth: the digits of (a) on
// rows [0, checked) against `truth50` (the 50-digit run on the first
// `checked` tokens) — in 50-digit arithmetic, never through double.
// Instantiated for Wide = reference::Real50 (dd_truth.cpp; declared as a
// template so that this header needs no Boost).
template <class Wide>
std::vector<int> dd_agreement_digits(const Trace<reference::DoubleDouble>& dd,
                                     const Trace<Wide>& truth50, int checked);

// Per tensor: (b), floor(-log10(dd_error_bound / max|truth|)), capped at cap.
std::vector<int> dd_bound_digits(const std::vector<Budget>& budgets, const Trace<double>& truth,
                                 int cap);

}  // namespace gpt2::oracle
