// Every DoubleDouble operation against 100-digit MPFR on the same (exact)
// operands: its relative error, in units of u² = 2⁻¹⁰⁶, must stay inside the
// bound stated in reference/double_double.h. The worst error seen is
// printed, and the header quotes it.
#include "reference/double_double.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <random>

#include "reference/agreement.h"
#include "reference/real.h"

namespace gpt2::reference {
namespace {

// A double-double with a random hi in ±[2^lo_exp, 2^hi_exp) and a random
// normalised lo.
DoubleDouble random_dd(std::mt19937_64& rng, int lo_exp, int hi_exp, bool signed_value = true) {
  std::uniform_real_distribution<double> unit(1.0, 2.0);
  std::uniform_int_distribution<int> exponent(lo_exp, hi_exp - 1);
  double hi = std::ldexp(unit(rng), exponent(rng));
  if (signed_value && (rng() & 1)) hi = -hi;
  const double lo = std::ldexp(unit(rng) - 1.5, std::ilogb(hi) - 53);  // |lo| ≤ ulp(hi)/2
  return dd_detail::fast_two_sum(hi, lo);
}

// |got - exact| / |exact| in units of u².
double error_in_units(const DoubleDouble& got, const Real100& exact) {
  if (exact == 0) return got.hi == 0 && got.lo == 0 ? 0 : 1e300;
  const Real100 e = abs(widen<Real100>(got) - exact) / abs(exact);
  return static_cast<double>(e / Real100(kUnitRoundoffSquared));
}

double worst_error(const char* name, int n, const std::function<DoubleDouble(std::mt19937_64&)>& in,
                   const std::function<DoubleDouble(const DoubleDouble&, const DoubleDouble&)>& op,
                   const std::function<Real100(const Real100&, const Real100&)>& exact) {
  std::mt19937_64 rng(20261130);
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    const DoubleDouble x = in(rng), y = in(rng);
    worst = std::max(worst, error_in_units(op(x, y), exact(widen<Real100>(x), widen<Real100>(y))));
  }
  std::printf("%-8s worst relative error %.3f u^2 over %d samples\n", name, worst, n);
  return worst;
}

constexpr int kSamples = 20000;

TEST(DoubleDouble, ArithmeticWithinPublishedBounds) {
  auto wide = [](std::mt19937_64& r) { return random_dd(r, -30, 30); };
  EXPECT_LE(worst_error("add", kSamples, wide, std::plus<>(), std::plus<>()), 3 + 1e-10);
  // Cancellation: operands of nearly equal magnitude and opposite sign.
  auto near_one = [](std::mt19937_64& r) { return random_dd(r, 0, 1); };
  EXPECT_LE(worst_error("sub", kSamples, near_one, std::minus<>(), std::minus<>()), 3 + 1e-10);
  EXPECT_LE(worst_error("mul", kSamples, wide, std::multiplies<>(), std::multiplies<>()), 5);
  EXPECT_LE(worst_error("div", kSamples, wide, std::divides<>(), std::divides<>()), 15 + 1e-10);
  EXPECT_LE(worst_error(
                "x*w", kSamples, wide,
                [](const DoubleDouble& x, const DoubleDouble& y) {
                  return times_double(x, static_cast<double>(static_cast<float>(y.hi)));
                },
                [](const Real100& x, const Real100& y) {
                  return x * Real100(static_cast<float>(static_cast<double>(y)));
                }),
            2);
}

TEST(DoubleDouble, FunctionsWithinStatedBounds) {
  auto positive = [](std::mt19937_64& r) { return random_dd(r, -40, 40, false); };
  const double sqrt_worst = worst_error(
      "sqrt", kSamples, positive,
      [](const DoubleDouble& x, const DoubleDouble&) { return sqrt(x); },
      [](const Real100& x, const Real100&) { return sqrt(x); });
  EXPECT_LE(sqrt_worst, kWorstFunctionErrorInUnits);
  // exp over the arguments softmax gives it (s - max ≤ 0) and beyond, down
  // to -650: below about -669 the result's low word is subnormal, so its
  // error is absolute (≤ 2⁻¹⁰⁷⁵), not relative (double_double.h).
  auto exp_arguments = [](std::mt19937_64& r) {
    std::uniform_real_distribution<double> d(-650, 700);
    const double hi = d(r);
    return dd_detail::fast_two_sum(
        hi, std::ldexp(std::uniform_real_distribution<double>(-0.5, 0.5)(r), std::ilogb(hi) - 53));
  };
  const double exp_worst = worst_error(
      "exp", kSamples, exp_arguments,
      [](const DoubleDouble& x, const DoubleDouble&) { return exp(x); },
      [](const Real100& x, const Real100&) { return exp(x); });
  EXPECT_LE(exp_worst, kWorstFunctionErrorInUnits);
  // tanh and expm1 near 0 (where a naive formula cancels) and across GELU's range.
  for (auto [lo, hi] : {std::pair{-60, -1}, std::pair{-1, 6}}) {
    auto args = [lo = lo, hi = hi](std::mt19937_64& r) { return random_dd(r, lo, hi); };
    EXPECT_LE(worst_error(
                  "tanh", kSamples, args,
                  [](const DoubleDouble& x, const DoubleDouble&) { return tanh(x); },
                  [](const Real100& x, const Real100&) { return tanh(x); }),
              kWorstFunctionErrorInUnits);
    EXPECT_LE(worst_error(
                  "expm1", kSamples, args,
                  [](const DoubleDouble& x, const DoubleDouble&) { return expm1(x); },
                  [](const Real100& x, const Real100&) { return expm1(x); }),
              kWorstFunctionErrorInUnits);
  }
}

TEST(DoubleDouble, DecimalTextRoundsToNearest) {
  const DoubleDouble c("0.044715");
  const Real100 exact("0.044715");
  EXPECT_LE(error_in_units(c, exact), 0.5 * (1 + 1e-9) * 2);  // two roundings of ≤ u²/2 each
  EXPECT_THROW(DoubleDouble("0.04x"), std::invalid_argument);
  EXPECT_LE(error_in_units(dd_pi(), boost::math::constants::pi<Real100>()), 1);
  EXPECT_EQ(to_string(DoubleDouble(0.5)).substr(0, 6), "5.0000");
}

TEST(DoubleDouble, SpecialValues) {
  EXPECT_EQ(exp(DoubleDouble(0.0)).hi, 1.0);
  EXPECT_EQ(exp(DoubleDouble(800.0)).hi, std::numeric_limits<double>::infinity());
  EXPECT_EQ(exp(DoubleDouble(-800.0)).hi, 0.0);
  EXPECT_EQ(tanh(DoubleDouble(50.0)).hi, 1.0);
  EXPECT_EQ(tanh(DoubleDouble(-50.0)).hi, -1.0);
  EXPECT_EQ(tanh(DoubleDouble(0.0)).hi, 0.0);
  EXPECT_EQ(sqrt(DoubleDouble(0.0)).hi, 0.0);
  EXPECT_TRUE(std::isnan(sqrt(DoubleDouble(-1.0)).hi));
}

}  // namespace
}  // namespace gpt2::reference
