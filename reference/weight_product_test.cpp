// Where a weight meets an activation: a stored weight converted for MPFR is
// exactly the weight, and a product with it rounds exactly as `acc += x * w`
// with the weight as a Real.
#include "reference/weight_product.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cstring>
#include <limits>
#include <vector>

#include "model/init.h"
#include "reference/real.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::test_seed;

// Floats that probe the conversion: zeros, the extremes, subnormals, powers
// of two, values with every significand bit set, and `count` random bit
// patterns (NaN and Inf excluded: the loaders refuse them).
std::vector<float> probe_floats(uint64_t seed, int count) {
  std::vector<float> out = {
      0.0f,        -0.0f,    1.0f,           -1.0f,         0.1f,
      -0.02f,      0.5f,     2.0f,           FLT_MAX,       -FLT_MAX,
      FLT_MIN,     -FLT_MIN, FLT_TRUE_MIN,   -FLT_TRUE_MIN, 1.0f - FLT_EPSILON / 2,
      16777215.0f, 3.0e-39f, -1.1754942e-38f};
  for (int i = 0; i < count; ++i) {
    uint32_t bits = static_cast<uint32_t>(mix64(seed + i));
    float f;
    std::memcpy(&f, &bits, sizeof f);
    if (std::isfinite(f)) out.push_back(f);
  }
  return out;
}

template <class Real>
bool same_bits(mpfr_srcptr a, const Real& b) {
  // Equal as numbers, and zeros of the same sign.
  return mpfr_equal_p(a, b.backend().data()) != 0 &&
         mpfr_signbit(a) == mpfr_signbit(b.backend().data());
}

TEST(WeightProductTest, MpfrWeightHoldsEveryFloatAndDoubleExactly) {
  MpfrWeight w;
  for (float f : probe_floats(test_seed(71), 20000)) {
    w.set(f);
    EXPECT_TRUE(same_bits(w.get(), Real50(f))) << f;
  }
  for (double d : {0.1, -0.1, DBL_MAX, DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, 1.0 / 3.0}) {
    w.set(d);
    EXPECT_TRUE(same_bits(w.get(), Real100(d))) << d;
  }
}

// The product with a converted weight, then the sum, are the same two
// roundings as Boost's `acc += x * Real(w)`, at 50 and 100 digits.
template <class Real>
void expect_multiply_add_matches_textbook(uint64_t seed) {
  const std::vector<float> weights = probe_floats(seed, 3000);
  WeightRow<Real, float> row(static_cast<int>(weights.size()));
  row.load(weights.data());
  MultiplyAdd<Real> multiply_add;
  Real acc = Real(0), textbook = Real(0);
  for (size_t j = 0; j < weights.size(); ++j) {
    // Activations with all of Real's digits: 1/3, 1/7, ... scaled.
    const Real x = Real(1) / Real(static_cast<int>(3 + j % 97)) * Real(1 - 2 * int(j % 2));
    if (std::abs(weights[j]) > 1e30f) continue;  // keep the sums finite
    multiply_add(acc, x, row[static_cast<int>(j)]);
    textbook += x * Real(weights[j]);
    ASSERT_TRUE(same_bits(acc.backend().data(), textbook)) << "after weight " << weights[j];
  }
  // Two Reals (attention's products): the same as well.
  Real a = Real(0), b = Real(0);
  for (int i = 1; i < 200; ++i) {
    const Real x = sqrt(Real(i)), y = Real(1) / Real(i);
    multiply_add(a, x, y);
    b += x * y;
  }
  EXPECT_TRUE(same_bits(a.backend().data(), b));
}

TEST(WeightProductTest, MultiplyAddRoundsLikeTheTextbookProductAt50And100Digits) {
  expect_multiply_add_matches_textbook<Real50>(test_seed(72));
  expect_multiply_add_matches_textbook<Real100>(test_seed(73));
}

TEST(WeightProductTest, HardwareScalarsReadStoredWeightsWithoutConverting) {
  const std::vector<float> w = {0.1f, -2.5f};
  WeightRow<double, float> row(2);
  row.load(w.data());
  EXPECT_EQ(row[0], static_cast<double>(0.1f));
  MultiplyAdd<double> multiply_add;
  double acc = 1;
  multiply_add(acc, 3.0, row[1]);
  EXPECT_EQ(acc, 1 + 3.0 * -2.5);
  EXPECT_EQ(as_real<double>(0.1f), static_cast<double>(0.1f));
}

}  // namespace
}  // namespace gpt2::reference
