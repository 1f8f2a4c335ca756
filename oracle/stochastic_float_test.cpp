#include "oracle/stochastic_float.h"

#include <gtest/gtest.h>

#include <cmath>

#include "oracle/metrics.h"

namespace gpt2::oracle {
namespace {

TEST(StochasticFloat, ExactResultsAreNotRounded) {
  StochasticFloat::Session session(1);
  EXPECT_EQ((StochasticFloat(1.5f) + StochasticFloat(2.25f)).value(), 3.75f);
  EXPECT_EQ((StochasticFloat(3.0f) * StochasticFloat(0.5f)).value(), 1.5f);
  EXPECT_EQ(sqrt(StochasticFloat(4.0f)).value(), 2.0f);
}

TEST(StochasticFloat, InexactResultsGoToEitherNeighbourWithinOneUlp) {
  StochasticFloat::Session session(7);
  int up = 0, down = 0, exact_count = 0;
  for (int i = 1; i <= 3000; ++i) {
    const float a = 1.0f + i * 1e-4f, b = 3.0f;
    const double exact = double(a) / double(b);
    const float r = (StochasticFloat(a) / StochasticFloat(b)).value();
    EXPECT_LE(std::abs(double(r) - exact), ulp_f32(exact));
    if (double(static_cast<float>(exact)) == exact) {  // a's mantissa divisible by 3
      EXPECT_EQ(r, static_cast<float>(exact));
      ++exact_count;
    } else {
      (double(r) > exact ? up : down)++;
    }
  }
  // About a third of the quotients are exact; the rest go up or down with
  // equal probability: 5 standard deviations of a binomial(n, 1/2).
  const int n = up + down;
  EXPECT_GT(exact_count, 800);
  EXPECT_NEAR(up, n / 2.0, 5 * std::sqrt(n / 4.0));
}

TEST(StochasticFloat, SameSeedSameResultsDifferentSeedDifferentResults) {
  auto run = [](uint64_t seed) {
    StochasticFloat::Session session(seed);
    StochasticFloat sum = 0;
    for (int i = 1; i <= 1000; ++i) sum += StochasticFloat(1.0f) / StochasticFloat(float(i));
    return sum.value();
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
  // Both within a few hundred ULPs of the harmonic number H_1000 ≈ 7.4855.
  EXPECT_NEAR(run(3), 7.485470860550345, 2000 * ulp_f32(7.5));
}

// A profile's declared rounding is no coin flip: the float value rounded to
// nearest, ties to even, the same in every session.
TEST(StochasticFloat, DeclaredRoundingsAreToNearestEvenWhateverTheSeed) {
  for (uint64_t seed : {1u, 2u, 99u}) {
    StochasticFloat::Session session(seed);
    for (int i = 1; i <= 500; ++i) {
      const float x = (i % 2 ? 1.0f : -1.0f) * (0.001f + static_cast<float>(i) * 0.37f);
      for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16, FloatFormat::f32})
        EXPECT_EQ(round_to(f, StochasticFloat(x)).value(), round_to(f, x)) << x;
    }
    // Ties: 1 + 2^-8 is halfway between bf16's 1 and 1 + 2^-7, and goes to 1.
    EXPECT_EQ(round_to(FloatFormat::bf16, StochasticFloat(1.00390625f)).value(), 1.0f);
    EXPECT_EQ(round_to(FloatFormat::bf16, StochasticFloat(1.01171875f)).value(), 1.015625f);
  }
}

}  // namespace
}  // namespace gpt2::oracle
