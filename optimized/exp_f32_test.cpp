// exp_f32 and its vector forms (exp_f32.h): within a few ULP of double exp
// on the softmax's range, and every SIMD path equal to the scalar function.
#include "optimized/exp_f32.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

#include "optimized/cpu_features.h"
#include "optimized/simd_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::ulp;

// exp: Cephes reports a peak relative error of 1.0e-7 (about 1.7 ULP at the
// bottom of a binade) for its expf on [-87, 88]; ours is the same sequence.
constexpr double kExpMaxUlp = 2;

TEST(ExpF32, IsWithinTwoUlpOfDoubleExpOnTheSoftmaxRange) {
  // Every 97th float of either sign with magnitude in [1e-30, 87], and 0: the
  // softmax uses x <= 0, tanh x in [0, 20].
  double worst = 0, at = 0;
  auto check = [&](float x) {
    const double truth = std::exp(double(x));
    const double e = std::abs(exp_f32(x) - truth) / ulp(truth);
    if (e > worst) worst = e, at = x;
  };
  check(0.0f);
  for (uint32_t bits = std::bit_cast<uint32_t>(1e-30f); bits < std::bit_cast<uint32_t>(87.0f);
       bits += 97) {
    check(-std::bit_cast<float>(bits));
    if (std::bit_cast<float>(bits) < 88.0f) check(std::bit_cast<float>(bits));
  }
  std::printf("exp_f32: worst error %.2f ULP at x = %.9g\n", worst, at);
  EXPECT_LE(worst, kExpMaxUlp);
  EXPECT_EQ(exp_f32(0.0f), 1.0f);  // the softmax's "no rescale" case relies on it
  // Below the clamp the result is tiny but positive (never 0, never a NaN).
  EXPECT_GT(exp_f32(-1000.0f), 0.0f);
  EXPECT_LT(exp_f32(-1000.0f), 2e-38f);
  EXPECT_GT(exp_f32(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_TRUE(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_EQ(exp_f32(std::numeric_limits<float>::infinity()), exp_f32(88.0f));
}

#ifdef GPT2_HAVE_X86
GPT2_TARGET_AVX2 void exp16_avx2(const float* x, float* y) {
  _mm256_storeu_ps(y, exp_avx2(_mm256_loadu_ps(x)));
  _mm256_storeu_ps(y + 8, exp_avx2(_mm256_loadu_ps(x + 8)));
}
GPT2_TARGET_AVX512 void exp16_avx512(const float* x, float* y) {
  _mm512_storeu_ps(y, exp_avx512(_mm512_loadu_ps(x)));
}

class ExpF32OnPath : public ::testing::TestWithParam<Simd> {};
INSTANTIATE_TEST_SUITE_P(Simd, ExpF32OnPath, ::testing::ValuesIn(testing::kVectorSimdPaths),
                         testing::simd_param_name);

TEST_P(ExpF32OnPath, VectorExpEqualsTheScalarFunction) {
  GPT2_SKIP_UNLESS_CPU_HAS(GetParam());
  auto exp16 = GetParam() == Simd::avx512 ? exp16_avx512 : exp16_avx2;
  const float inf = std::numeric_limits<float>::infinity();
  for (uint32_t bits = 0; bits < std::bit_cast<uint32_t>(100.0f); bits += 4099) {
    float x[16], y[16];
    for (int i = 0; i < 16; ++i) x[i] = (i % 2 ? -1.0f : 1.0f) * std::bit_cast<float>(bits + i);
    if (bits == 0) x[2] = -inf, x[3] = inf, x[4] = std::numeric_limits<float>::quiet_NaN();
    if (bits == 0) x[13] = std::numeric_limits<float>::quiet_NaN(), x[14] = -inf;
    exp16(x, y);
    for (int i = 0; i < 16; ++i) {
      if (std::isnan(x[i])) {
        ASSERT_TRUE(std::isnan(y[i]));
        continue;
      }
      ASSERT_EQ(y[i], exp_f32(x[i])) << "x = " << x[i];
    }
  }
}
#endif

}  // namespace
}  // namespace gpt2::optimized
