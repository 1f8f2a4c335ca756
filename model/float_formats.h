// The short floating-point formats GPT-2 engines store or compute in, and
// conversions between them and float32, in one place: IEEE half (f16: 1 sign,
// 5 exponent, 10 fraction bits) and bfloat16 (bf16: float32's upper 16 bits,
// 8 exponent, 7 fraction bits).
//
// round_to<Real>(format, x) rounds any scalar (float, double, a 50-digit
// Real) to the nearest value of `format`, ties to even, subnormals included,
// beyond the largest finite value to ±Inf: exactly once from x itself, so a
// 50-digit value is not rounded to double first.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

namespace gpt2 {

enum class FloatFormat { f32, bf16, f16 };
const char* float_format_name(FloatFormat format);  // "f32", "bf16", "f16"
// "f32", "bf16" or "f16"; InputError naming `source` otherwise.
FloatFormat parse_float_format(const std::string& text, const std::string& source);

float f16_to_f32(uint16_t bits);    // exact (every f16 is a float)
float bf16_to_f32(uint16_t bits);   // exact
uint16_t f32_to_bf16(float value);  // nearest, ties to even; NaN stays NaN
uint16_t f32_to_f16(float value);   // nearest, ties to even; subnormals; overflow to ±Inf

// v as `format` stores it, widened back to float (exact): the conversions
// above, so a NaN stays a quiet NaN as a stored bf16 or f16 would; v itself
// for f32. The same value as round_to<float>(format, v) for every number.
float stored_as(FloatFormat format, float v);
// x[i] = stored_as(format, x[i]) for i < n (nothing for f32).
void round_in_place(FloatFormat format, float* x, size_t n);

// The format's shape: p significand bits (the implicit one included), the
// exponent of its smallest normal, 2^min_exponent, and its largest finite.
struct FormatShape {
  int significand_bits;
  int min_exponent;
  double largest;
};
FormatShape format_shape(FloatFormat format);

// x rounded to the nearest value of `format` (ties to even), as Real. Uses
// frexp, ldexp and floor found by argument-dependent lookup, so a
// multiprecision Real rounds from its own value.
template <class Real>
Real round_to(FloatFormat format, const Real& x) {
  using std::floor;
  using std::frexp;
  using std::ldexp;
  if (format == FloatFormat::f32 && std::is_same_v<Real, float>) return x;
  const FormatShape s = format == FloatFormat::f32 ? FormatShape{24, -126, 3.4028234663852886e38}
                                                   : format_shape(format);
  if (!(x == x) || x == Real(0)) return x;  // NaN, ±0
  const Real magnitude = x < Real(0) ? Real(-x) : x;
  if (!(magnitude < Real(INFINITY))) return x;  // ±Inf stays
  int e = 0;
  (void)frexp(magnitude, &e);  // magnitude in [2^(e-1), 2^e)
  // The quantum: 2^(e - p) for a normal result, the subnormal spacing below.
  const int quantum = (e - 1 < s.min_exponent ? s.min_exponent : e - 1) - (s.significand_bits - 1);
  const Real scaled = ldexp(magnitude, -quantum);  // exact: a power-of-two scale
  Real n = floor(scaled);
  const Real rest = scaled - n;
  if (rest > Real(0.5) || (rest == Real(0.5) && floor(n / Real(2)) * Real(2) != n)) n += Real(1);
  const Real rounded = ldexp(n, quantum);
  // Beyond the largest finite value: Inf (RNE's rule: from largest + ulp/2 on).
  const Real result = rounded > Real(s.largest) ? Real(INFINITY) : rounded;
  return x < Real(0) ? Real(-result) : result;
}

}  // namespace gpt2
