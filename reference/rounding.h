// The roundings a precision profile declares (model/profile.h), as the
// reference applies them: at exactly the declared points, once, to nearest
// (ties to even) from Real's own value, and nowhere else. The truth under a
// profile is "exact arithmetic, given the profile's roundings".
//
// A point at FloatFormat::f32 is no rounding point, at every Real: the
// profile f32 (or none) leaves every bit of the pass as it was. (Rounding to
// float32 as such, round_to(FloatFormat::f32, x), is a rounding in any scalar
// wider than float; no point of a profile asks for it.)
//
// The `weights` and `norms_and_biases` points are not applied here: the
// caller passes weights already rounded (round_weights, model/profile.h).
#pragma once

#include <vector>

#include "model/float_formats.h"
#include "model/profile.h"

namespace gpt2::reference {

// Whether a profile's point at `format` rounds at all.
inline bool rounds(FloatFormat format) { return format != FloatFormat::f32; }

// x rounded to the nearest value of `format`, ties to even, as Real: model/
// float_formats.h's round_to for float, double, Real50 and Real100, or the
// overload beside a scalar's own type, found by argument-dependent lookup
// (DoubleDouble: reference/double_double.h; the oracle's StochasticFloat:
// oracle/stochastic_float.h).
template <class Real>
Real rounded(FloatFormat format, const Real& x) {
  using gpt2::round_to;
  return round_to(format, x);
}

// Every element of x rounded to `format`; nothing at all (not even a pass
// over x) when the point does not round.
template <class Real>
void round_in_place(std::vector<Real>& x, FloatFormat format) {
  if (!rounds(format)) return;
  for (Real& value : x) value = rounded(format, value);
}

// The activation operand a projection reads under a `matmul_inputs` point at
// `format`: x itself when the point does not round (no copy), otherwise a
// rounded copy of x in `scratch`. x, the op's own output, stays as it is
// (it is what the trace holds).
template <class Real>
const std::vector<Real>& matmul_input(const std::vector<Real>& x, FloatFormat format,
                                      std::vector<Real>& scratch) {
  if (!rounds(format)) return x;
  scratch = x;
  round_in_place(scratch, format);
  return scratch;
}

// The profile a pass runs under: options.profile, or f32 (no rounding) for
// nullptr.
inline const Profile& profile_or_f32(const Profile* profile) {
  return profile != nullptr ? *profile : builtin_profiles().front();
}

}  // namespace gpt2::reference
