// model/float_formats.h's round_to at the reference's 50 digits, and its
// DoubleDouble twin (reference/double_double.h).
#include <gtest/gtest.h>

#include <cmath>

#include "model/float_formats.h"
#include "model/init.h"
#include "reference/double_double.h"
#include "reference/real.h"

namespace gpt2 {
namespace {

// From 50 digits, rounding happens once: a value just above a half's tie
// goes up, though it rounds to the tie itself in double.
TEST(RoundTo, RoundingA50DigitValueIsOneRoundingNotTwo) {
  using reference::Real50;
  const Real50 tie = Real50(1) + Real50(std::ldexp(1.0, -11));  // between 1 and 1 + 2^-10
  const Real50 above = tie + Real50("1e-40");
  EXPECT_EQ(static_cast<double>(above), static_cast<double>(tie));  // double cannot tell
  EXPECT_EQ(round_to(FloatFormat::f16, above), Real50(1) + Real50(std::ldexp(1.0, -10)));
  EXPECT_EQ(round_to(FloatFormat::f16, tie), Real50(1));
  EXPECT_EQ(round_to(FloatFormat::bf16, Real50("-3.14159")), Real50(-3.140625));
  // Random values: the 50-digit rounding agrees with double's wherever the
  // value is exactly a double.
  for (uint64_t i = 0; i < 2000; ++i) {
    const double x = std::ldexp(double(mix64(i) >> 11), -52 + int(mix64(i + 7) % 60) - 30) *
                     ((mix64(i + 3) & 1) ? 1 : -1);
    for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16})
      EXPECT_EQ(static_cast<double>(round_to(f, Real50(x))), round_to(f, x)) << x;
  }
}

using reference::DoubleDouble;
using reference::Real100;

// hi + lo exactly, at 100 digits (which hold any double-double).
Real100 exact(const DoubleDouble& x) { return Real100(x.hi) + Real100(x.lo); }

// The DoubleDouble rounding is one rounding of hi + lo: 100 digits' round_to
// of the exact sum gives the same value.
void expect_rounds_as_exact_sum(FloatFormat f, const DoubleDouble& x) {
  const DoubleDouble r = round_to(f, x);
  EXPECT_EQ(r.lo, 0.0);
  EXPECT_EQ(Real100(r.hi), round_to(f, exact(x)))
      << float_format_name(f) << ": " << x.hi << " + " << x.lo;
}

// hi exactly on a midpoint of the format: lo decides, not the tie rule; with
// lo = 0 it is a tie, to even. Both kinds of midpoint (the even neighbour
// below and above), both signs, the three formats.
TEST(RoundTo, DoubleDoubleOnAMidpointIsDecidedByTheSignOfLo) {
  const double tiny = std::ldexp(1.0, -60);  // |lo| <= ulp(hi)/2 = 2^-53 near 1
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16, FloatFormat::f32}) {
    const int p = format_shape(f).significand_bits;
    const double unit = std::ldexp(1.0, 1 - p);  // spacing of the format in [1, 2)
    // 1 + unit/2 lies between 1 (even) and 1 + unit (odd): its tie goes down.
    // 1 + 3·unit/2 lies between 1 + unit (odd) and 1 + 2·unit (even): up.
    struct Midpoint {
      double value, below, above, tie;
    };
    for (const Midpoint& m : {Midpoint{1 + unit / 2, 1, 1 + unit, 1},
                              Midpoint{1 + 3 * unit / 2, 1 + unit, 1 + 2 * unit, 1 + 2 * unit}})
      for (double sign : {1.0, -1.0}) {
        const double hi = sign * m.value;
        SCOPED_TRACE(std::string(float_format_name(f)) + " hi = " + std::to_string(hi));
        EXPECT_EQ(round_to(f, DoubleDouble(hi, 0.0)).hi, sign * m.tie);
        EXPECT_EQ(round_to(f, DoubleDouble(hi, tiny)).hi, sign > 0 ? m.above : -m.below);
        EXPECT_EQ(round_to(f, DoubleDouble(hi, -tiny)).hi, sign > 0 ? m.below : -m.above);
        for (double lo : {0.0, tiny, -tiny}) expect_rounds_as_exact_sum(f, DoubleDouble(hi, lo));
      }
  }
}

// The midpoint past the largest finite value (to Inf, or back to the largest
// when lo says the value is below it), the midpoint of the smallest
// subnormal, values of the format and NaN.
TEST(RoundTo, DoubleDoubleAtTheEdgesOfTheFormat) {
  const double tiny = std::ldexp(1.0, -70);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(65520.0, 0.0)).hi, INFINITY);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(65520.0, tiny)).hi, INFINITY);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(65520.0, -tiny)).hi, 65504.0);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(-65520.0, tiny)).hi, -65504.0);
  const double half_subnormal = std::ldexp(1.0, -25);  // between 0 and f16's 2^-24
  const double far_tiny = std::ldexp(1.0, -90);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(half_subnormal, 0.0)).hi, 0.0);
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(half_subnormal, far_tiny)).hi,
            std::ldexp(1.0, -24));
  EXPECT_EQ(round_to(FloatFormat::f16, DoubleDouble(half_subnormal, -far_tiny)).hi, 0.0);
  const double f32_half_subnormal = std::ldexp(1.0, -150);
  EXPECT_EQ(round_to(FloatFormat::f32, DoubleDouble(f32_half_subnormal, std::ldexp(1.0, -210))).hi,
            std::ldexp(1.0, -149));
  EXPECT_EQ(round_to(FloatFormat::bf16, DoubleDouble(1.5, tiny)).hi, 1.5);  // a bf16 value
  EXPECT_EQ(round_to(FloatFormat::bf16, DoubleDouble(1.5, -tiny)).hi, 1.5);
  EXPECT_TRUE(std::isnan(round_to(FloatFormat::f16, DoubleDouble(NAN, 0.0)).hi));
  EXPECT_EQ(round_to(FloatFormat::bf16, DoubleDouble(-INFINITY, 0.0)).hi, -INFINITY);
}

// Random double-doubles, half of them with hi on a midpoint of the format:
// one rounding of the exact sum, every time.
TEST(RoundTo, DoubleDoubleIsOneRoundingOfTheExactSum) {
  for (uint64_t i = 0; i < 3000; ++i)
    for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16, FloatFormat::f32}) {
      const int p = format_shape(f).significand_bits;
      const int e = static_cast<int>(mix64(i + 11) % 40) - 20;  // hi in [2^e, 2^(e+1))
      // p + 1 significant bits: on a midpoint when the last is 1, else a value.
      const double hi_bits = double((mix64(i) >> (64 - p - 1)) | (uint64_t{1} << p));
      double hi = std::ldexp(hi_bits, e - p);
      if (i % 2 == 1) hi += std::ldexp(double(mix64(i + 5) >> 40), e - 52 - 24 + 1);  // anywhere
      hi *= (mix64(i + 3) & 1) ? 1 : -1;
      const double ulp = std::ldexp(1.0, std::ilogb(hi) - 52);
      const double lo =
          (static_cast<double>(mix64(i + 17) >> 11) / std::ldexp(1.0, 53) - 0.5) * ulp;
      const DoubleDouble x = DoubleDouble(hi, 0.0) + DoubleDouble(lo);  // normalised
      expect_rounds_as_exact_sum(f, x);
      expect_rounds_as_exact_sum(f, DoubleDouble(hi, 0.0));
    }
}

}  // namespace
}  // namespace gpt2
