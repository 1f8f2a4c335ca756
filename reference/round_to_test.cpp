// model/float_formats.h's round_to at the reference's 50 digits.
#include <gtest/gtest.h>

#include <cmath>

#include "model/float_formats.h"
#include "model/init.h"
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

}  // namespace
}  // namespace gpt2
