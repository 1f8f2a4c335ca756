// The vectorised tanh and GELU against double precision, Highway style: the
// worst ULP error is measured over a dense sweep and printed, pass or fail.
#include "optimized/gelu.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <vector>

#include "optimized/cpu_features.h"
#include "optimized/simd_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::ulp;

// Every 1009th float of either sign in [1e-30, 12] (about 2 million values), plus 0.
std::vector<float> sweep() {
  std::vector<float> xs{0.0f};
  // Positive floats are ordered like their bit patterns: step the bits.
  const uint32_t first = std::bit_cast<uint32_t>(1e-30f), last = std::bit_cast<uint32_t>(12.0f);
  for (uint32_t bits = first; bits < last; bits += 1009) {
    const float x = std::bit_cast<float>(bits);
    xs.push_back(x);
    xs.push_back(-x);
  }
  return xs;
}

// tanh: Cephes reports ~2 ULP for its tanhf; ours uses its own expf (~1 ULP)
// in the large branch, where 1 - 2/(e+1) adds up to two roundings.
constexpr double kTanhMaxUlp = 4;

TEST(Gelu, TanhIsWithinAFewUlpOfDoubleTanh) {
  double worst = 0, at = 0;
  for (float x : sweep()) {
    const double truth = std::tanh(double(x));
    const double e = std::abs(tanh_f32(x) - truth) / ulp(truth == 0 ? 1e-45 : truth);
    if (e > worst) worst = e, at = x;
  }
  std::printf("tanh_f32: worst error %.2f ULP at x = %.9g\n", worst, at);
  EXPECT_LE(worst, kTanhMaxUlp);
}

// GELU: 0.5·x·(1 + t) loses relative accuracy where t -> -1 (x << 0), as
// any float evaluation of this formula does; measured in units of the larger
// of ulp(gelu(x)) and 2^-24·|x|/2 (one float ULP of 1 + t near 1, scaled by x/2).
TEST(Gelu, GeluMatchesTheFormulaInDouble) {
  double worst = 0, at = 0;
  for (float x : sweep()) {
    const double xd = x;
    const double truth =
        0.5 * xd * (1 + std::tanh(std::sqrt(2 / M_PI) * (xd + 0.044715 * xd * xd * xd)));
    const double unit = std::max(ulp(truth == 0 ? 1e-45 : truth), 0.5 * std::abs(xd) * 0x1p-24);
    const double e = std::abs(gelu_tanh_f32(x) - truth) / unit;
    if (e > worst) worst = e, at = x;
  }
  std::printf("gelu_tanh_f32: worst error %.2f units (max(ulp, 2^-25|x|)) at x = %.9g\n", worst,
              at);
  EXPECT_LE(worst, 2 * kTanhMaxUlp + 2);
}

class GeluOnPath : public ::testing::TestWithParam<Simd> {};
INSTANTIATE_TEST_SUITE_P(Simd, GeluOnPath, ::testing::ValuesIn(testing::kAllSimdPaths),
                         testing::simd_param_name);

TEST_P(GeluOnPath, ArrayEqualsTheScalarFunctionAtEveryLengthAndOffset) {
  GPT2_SKIP_UNLESS_CPU_HAS(GetParam());
  testing::SimdGuard guard;
  set_simd(GetParam());
  const std::vector<float> all = sweep();
  std::vector<float> xs;
  for (size_t i = 0; i < all.size(); i += 3) xs.push_back(all[i]);
  xs.resize(xs.size() / 16 * 16 + 5);  // not a multiple of 8 or 16: the tail is exercised
  std::vector<float> expected(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) expected[i] = gelu_tanh_f32(xs[i]);
  std::vector<float> out(xs.size());
  gelu_tanh_array(xs.data(), out.data(), xs.size());
  for (size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(out[i], expected[i]) << "x = " << xs[i];
  // Every length below twice the widest vector (16), at three offsets, in place.
  for (size_t offset : {0, 1, 3})
    for (size_t n = 0; n < 32; ++n) {
      std::vector<float> buf(xs.begin() + 1000, xs.begin() + 1000 + offset + n + 1);
      const float guard_value = buf.back();
      gelu_tanh_array(buf.data() + offset, buf.data() + offset, n);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(buf[offset + i], expected[1000 + offset + i])
            << "n=" << n << " offset=" << offset;
      ASSERT_EQ(buf.back(), guard_value) << "wrote past n=" << n;
    }
}

}  // namespace
}  // namespace gpt2::optimized
