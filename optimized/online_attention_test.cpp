// attend_online_softmax (online_attention.h) against its naive twin, a
// two-pass softmax in double, and every SIMD path against the scalar one.
#include "optimized/online_attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "optimized/cpu_features.h"
#include "optimized/panel_gemm.h"  // AlignedVector
#include "optimized/simd_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::SimdGuard;
using testing::uniform;

// Naive twin of the attention: scores in double, max-subtracted softmax.
std::vector<double> naive_attention(const float* q, const float* k, const float* v, int n, int HS,
                                    double scale) {
  std::vector<double> s(n), out(HS, 0.0);
  double m = -INFINITY, sum = 0;
  for (int j = 0; j < n; ++j) {
    double d = 0;
    for (int i = 0; i < HS; ++i) d += double(q[i]) * k[size_t(j) * HS + i];
    s[j] = d * scale;
    m = std::max(m, s[j]);
  }
  for (int j = 0; j < n; ++j) sum += s[j] = std::exp(s[j] - m);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < HS; ++i) out[i] += s[j] / sum * v[size_t(j) * HS + i];
  return out;
}

TEST(OnlineAttention, MatchesTheTwoPassSoftmaxAndIsTheSameOnEveryPath) {
  SimdGuard guard;
  // Tolerance: each output is a convex combination of values |v| <= 1; the
  // float32 path differs from the double twin by the rounding of HS-term
  // dots (<= HS·u relative, u = 2^-24), of n exps (exp_f32: under 2 ULP
  // each, so <= 2n·u), of the rescale factors and of the n-term running sums
  // (<= n·u each): bounded by (HS + 4n)·u. The test allows 4x that.
  constexpr double kU = 1.0 / (1 << 24);
  uint64_t seed = 77;
  for (int HS : {1, 3, 8, 13, 64})
    for (int n : {1, 2, 9, 100}) {
      ++seed;
      SCOPED_TRACE(::testing::Message() << "HS=" << HS << " n=" << n << " seed=" << seed);
      auto q = uniform(HS, seed, 3.0f), k = uniform(size_t(n) * HS, seed + 1, 3.0f),
           v = uniform(size_t(n) * HS, seed + 2);
      const float scale = 1.0f / std::sqrt(float(HS));
      const auto expected = naive_attention(q.data(), k.data(), v.data(), n, HS, scale);
      std::vector<std::vector<float>> results;
      for (Simd simd : supported_simd_paths()) {
        set_simd(simd);
        std::vector<float> out(HS);
        attend_online_softmax(q.data(), k.data(), v.data(), n, HS, scale, out.data());
        for (int i = 0; i < HS; ++i)
          EXPECT_NEAR(out[i], expected[i], 4 * (HS + 4 * n) * kU) << "dim " << i;
        results.push_back(out);
      }
      for (size_t r = 1; r < results.size(); ++r) EXPECT_EQ(results[r], results[0]);
    }
}

// Every path against the scalar path, bit for bit, at every head size below
// twice the widest vector (16 floats) and every key count below twice the
// block (8) and a few blocks more, with q, keys and values at three offsets
// from a 64-byte line.
class AttentionOnPath : public ::testing::TestWithParam<Simd> {};
INSTANTIATE_TEST_SUITE_P(Simd, AttentionOnPath, ::testing::ValuesIn(testing::kVectorSimdPaths),
                         testing::simd_param_name);

TEST_P(AttentionOnPath, EqualsTheScalarPathAtEveryHeadSizeKeyCountAndOffset) {
  GPT2_SKIP_UNLESS_CPU_HAS(GetParam());
  SimdGuard guard;
  uint64_t seed = 9000;
  for (int HS = 1; HS < 32; ++HS)
    for (int n : {1, 2, 3, 7, 8, 9, 12, 15, 16, 17, 40})
      for (int offset : {0, 1, 3}) {
        ++seed;
        SCOPED_TRACE(::testing::Message() << simd_name(GetParam()) << " HS=" << HS << " n=" << n
                                          << " offset=" << offset << " seed=" << seed);
        AlignedVector<float> q(offset + HS), k(offset + size_t(n) * HS), v(offset + size_t(n) * HS);
        const auto qv = uniform(HS, seed, 3.0f), kv = uniform(size_t(n) * HS, seed + 1, 3.0f),
                   vv = uniform(size_t(n) * HS, seed + 2);
        std::copy(qv.begin(), qv.end(), q.begin() + offset);
        std::copy(kv.begin(), kv.end(), k.begin() + offset);
        std::copy(vv.begin(), vv.end(), v.begin() + offset);
        const float scale = 1.0f / std::sqrt(float(HS));
        std::vector<float> expected(HS), out(HS);
        set_simd(Simd::scalar);
        attend_online_softmax(q.data() + offset, k.data() + offset, v.data() + offset, n, HS, scale,
                              expected.data());
        set_simd(GetParam());
        attend_online_softmax(q.data() + offset, k.data() + offset, v.data() + offset, n, HS, scale,
                              out.data());
        for (int i = 0; i < HS; ++i) ASSERT_EQ(out[i], expected[i]) << "dim " << i;
      }
}

// A NaN in a key (or an infinite score) must reach the output as NaN on
// every path: a finite answer there would hide a broken input.
TEST(OnlineAttention, ANanKeyOrAnInfiniteScoreGivesNan) {
  SimdGuard guard;
  const int HS = 16, n = 13;
  auto q = uniform(HS, 5), v = uniform(size_t(n) * HS, 7);
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()})
    for (int at : {0, 9}) {
      auto k = uniform(size_t(n) * HS, 6);
      k[size_t(at) * HS + 3] = bad;
      if (std::isinf(bad)) q[3] = 1.0f;  // +inf score, not -inf
      for (Simd simd : supported_simd_paths()) {
        set_simd(simd);
        std::vector<float> out(HS);
        attend_online_softmax(q.data(), k.data(), v.data(), n, HS, 0.25f, out.data());
        for (int i = 0; i < HS; ++i)
          EXPECT_TRUE(std::isnan(out[i])) << simd_name(simd) << " bad=" << bad << " at key " << at
                                          << " dim " << i << ": " << out[i];
      }
    }
}

}  // namespace
}  // namespace gpt2::optimized
