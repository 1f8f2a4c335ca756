#include "model/float_formats.h"

#include <bit>

#include "model/error.h"
#include "model/json_strict.h"

namespace gpt2 {

const char* float_format_name(FloatFormat format) {
  switch (format) {
    case FloatFormat::f32:
      return "f32";
    case FloatFormat::bf16:
      return "bf16";
    case FloatFormat::f16:
      return "f16";
  }
  return "?";
}

FloatFormat parse_float_format(const std::string& text, const std::string& source) {
  if (text == "f32") return FloatFormat::f32;
  if (text == "bf16") return FloatFormat::bf16;
  if (text == "f16") return FloatFormat::f16;
  throw InputError(source + ": expected \"f32\", \"bf16\" or \"f16\", found " +
                   quote_for_message(text));
}

FormatShape format_shape(FloatFormat format) {
  switch (format) {
    case FloatFormat::f32:
      return {24, -126, 3.4028234663852886e38};
    case FloatFormat::bf16:
      return {8, -126, 3.3895313892515355e38};
    case FloatFormat::f16:
      return {11, -14, 65504.0};
  }
  return {24, -126, 3.4028234663852886e38};
}

float f16_to_f32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t out = 0;
  if (exponent == 0x1f) {
    // Inf (mantissa 0) or NaN, payload and quiet bit kept in the top bits.
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    out = sign | ((exponent - 15 + 127) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;  // ±0
  } else {
    // Subnormal: mantissa × 2^-24. Shift the leading 1 up to the implicit bit
    // position; every f16 subnormal is a normal float, so this is exact.
    int e = -14;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    out = sign | (static_cast<uint32_t>(e + 127) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(out);
}

float bf16_to_f32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }

uint16_t f32_to_bf16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    // NaN: truncating could clear every payload bit left and give Inf; set the
    // quiet bit so it stays NaN.
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  }
  // Round to nearest, ties to even: add just under half an ulp, plus one when
  // the kept part is odd. A carry into the exponent is correct rounding
  // (up to Inf beyond the largest bfloat16).
  const uint32_t lsb = (bits >> 16) & 1u;
  return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

uint16_t f32_to_f16(float value) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  if ((bits & 0x7fffffffu) > 0x7f800000u)  // NaN: quiet, keep the top payload bits
    return static_cast<uint16_t>(sign | 0x7e00u | ((bits >> 13) & 0x3ffu));
  // round_to gives the nearest f16 value exactly as a float (every f16 is a
  // float); its bits follow from the value.
  const float r = round_to(FloatFormat::f16, value);
  const uint32_t rb = std::bit_cast<uint32_t>(r) & 0x7fffffffu;
  if (rb == 0x7f800000u) return static_cast<uint16_t>(sign | 0x7c00u);  // ±Inf
  if (rb == 0) return sign;
  const int exponent = static_cast<int>(rb >> 23) - 127;
  if (exponent < -14)  // subnormal: r = m × 2^-24
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::ldexp(std::fabs(r), 24)));
  return static_cast<uint16_t>(sign | ((exponent + 15) << 10) | ((rb >> 13) & 0x3ffu));
}

float stored_as(FloatFormat format, float v) {
  switch (format) {
    case FloatFormat::f32:
      return v;
    case FloatFormat::bf16:
      return bf16_to_f32(f32_to_bf16(v));
    case FloatFormat::f16:
      return f16_to_f32(f32_to_f16(v));
  }
  return v;
}

void round_in_place(FloatFormat format, float* x, size_t n) {
  if (format == FloatFormat::f32) return;
  for (size_t i = 0; i < n; ++i) x[i] = stored_as(format, x[i]);
}

}  // namespace gpt2
