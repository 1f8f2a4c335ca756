// The panel GEMM and the online-softmax attention against their naive twins.
#include "optimized/panel_gemm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "model/safetensors.h"
#include "optimized/cpu_features.h"
#include "optimized/gelu.h"
#include "optimized/online_attention.h"
#include "optimized/simd_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::SimdGuard;

std::vector<float> uniform(size_t n, uint64_t seed, float a = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-a, a);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// The naive twin: y[t, n] = epilogue(fma chain from bias[n] over k in order).
std::vector<float> naive_gemm(const std::vector<float>& x, int T, int K,
                              const std::vector<float>& w, int N, const std::vector<float>& bias,
                              const std::vector<float>& y0, Epilogue e) {
  std::vector<float> y = y0;
  for (int t = 0; t < T; ++t)
    for (int n = 0; n < N; ++n) {
      float acc = bias[n];
      for (int k = 0; k < K; ++k) acc = std::fma(x[size_t(t) * K + k], w[size_t(k) * N + n], acc);
      float& out = y[size_t(t) * N + n];
      out = e == Epilogue::store ? acc : e == Epilogue::accumulate ? out + acc : gelu_tanh_f32(acc);
    }
  return y;
}

std::vector<Simd> supported_paths() { return supported_simd_paths(); }

// Every path (a test per path, skipped where the CPU lacks it) equals the
// naive fma chain, hence every other path, bit for bit.
class PanelGemmOnPath : public ::testing::TestWithParam<Simd> {
 protected:
  void SetUp() override {
    GPT2_SKIP_UNLESS_CPU_HAS(GetParam());
    set_simd(GetParam());
  }
  SimdGuard guard_;
};
INSTANTIATE_TEST_SUITE_P(Simd, PanelGemmOnPath, ::testing::ValuesIn(testing::kAllSimdPaths),
                         testing::simd_param_name);

// Odd sizes by default (llama.cpp test-backend-ops style): 1, 5, 15, 16, 17, 33.
TEST_P(PanelGemmOnPath, EqualsTheSequentialFmaChainBitForBit) {
  const Simd simd = GetParam();
  const int Ks[] = {1, 5, 16, 17, 40};
  // N = 150: 10 panels, 5 per call, a group of 4 streamed side by side and
  // one more. T = 32 and 33: the last streamed batch and the first tiled one.
  const int Ns[] = {1, 7, 16, 17, 33, 70, 150};
  const int Ts[] = {1, 2, 5, 6, 7, 13, 32, 33, 100};
  const Epilogue epilogues[] = {Epilogue::store, Epilogue::accumulate, Epilogue::gelu_tanh};
  uint64_t seed = 1000;
  for (WeightFormat format : {WeightFormat::f32, WeightFormat::bf16})
    for (int K : Ks)
      for (int N : Ns)
        for (int T : Ts) {
          const Epilogue e = epilogues[(K + N + T) % 3];
          ++seed;
          SCOPED_TRACE(::testing::Message()
                       << simd_name(simd) << (format == WeightFormat::bf16 ? " bf16" : " f32")
                       << " K=" << K << " N=" << N << " T=" << T << " epilogue=" << int(e)
                       << " seed=" << seed);
          auto x = uniform(size_t(T) * K, seed);
          auto w = uniform(size_t(K) * N, seed + 1);
          if (format == WeightFormat::bf16)
            for (float& v : w) v = bf16_to_f32(f32_to_bf16(v));
          auto bias = uniform(N, seed + 2);
          auto y0 = uniform(size_t(T) * N, seed + 3);
          const PanelMatrix packed = pack_panels(w.data(), K, N, false, format);
          std::vector<float> scratch(gemm_scratch_floats(K));
          std::vector<float> y = y0;
          // Two calls over a split panel range, as two threads would do.
          const int split = packed.panels() / 2;
          gemm_panels(x.data(), T, K, packed, bias.data(), y.data(), N, e, 0, split,
                      scratch.data());
          gemm_panels(x.data(), T, K, packed, bias.data(), y.data(), N, e, split, packed.panels(),
                      scratch.data());
          const auto expected = naive_gemm(x, T, K, w, N, bias, y0, e);
          for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], expected[i]) << "element " << i;
        }
}

// Tiles break at their edges: every count of rows T below twice the largest
// tile (8 rows on AVX-512, 6 on AVX2) and around the row block (96), every
// count of columns N below twice the widest group of panels (4 panels = 64
// columns, the decode step's), and every K up to 33, each at three
// misalignments of x and y (their first element 0, 1 or 3 floats into a
// 64-byte line, and rows that many floats longer than the matrix), with the
// panels split at 1 and at the middle as threads would split them.
TEST_P(PanelGemmOnPath, EveryRemainderAtThreeOffsets) {
  const Simd simd = GetParam();
  struct Shape {
    int T, K, N;
  };
  std::vector<Shape> shapes;
  for (int T = 1; T < 2 * 8; ++T)
    for (int N : {16, 33, 64, 81}) shapes.push_back({T, 7, N});
  for (int T : {94, 95, 96, 97, 98, 101}) shapes.push_back({T, 5, 49});
  for (int N = 1; N < 2 * 64; ++N)
    for (int T : {1, 9}) shapes.push_back({T, 19, N});
  for (int K = 1; K <= 33; ++K) shapes.push_back({9, K, 50});
  const Epilogue epilogues[] = {Epilogue::store, Epilogue::accumulate, Epilogue::gelu_tanh};
  uint64_t seed = 5000;
  for (WeightFormat format : {WeightFormat::f32, WeightFormat::bf16})
    for (const Shape& sh : shapes)
      for (int offset : {0, 1, 3}) {
        const int T = sh.T, K = sh.K, N = sh.N, ldx = K + offset, ldy = N + offset;
        const Epilogue e = epilogues[(T + K + N + offset) % 3];
        ++seed;
        SCOPED_TRACE(::testing::Message()
                     << simd_name(simd) << (format == WeightFormat::bf16 ? " bf16" : " f32")
                     << " T=" << T << " K=" << K << " N=" << N << " offset=" << offset
                     << " epilogue=" << int(e) << " seed=" << seed);
        // x [T, K] with row stride ldx, starting `offset` floats into an
        // aligned buffer; y likewise with ldy.
        AlignedVector<float> xbuf(offset + size_t(T) * ldx), ybuf(offset + size_t(T) * ldy);
        const auto xv = uniform(size_t(T) * K, seed);
        auto w = uniform(size_t(K) * N, seed + 1);
        if (format == WeightFormat::bf16)
          for (float& v : w) v = bf16_to_f32(f32_to_bf16(v));
        const auto bias = uniform(N, seed + 2);
        const auto y0 = uniform(size_t(T) * N, seed + 3);
        float* x = xbuf.data() + offset;
        float* y = ybuf.data() + offset;
        for (int t = 0; t < T; ++t)
          for (int k = 0; k < K; ++k) x[size_t(t) * ldx + k] = xv[size_t(t) * K + k];
        for (int t = 0; t < T; ++t)
          for (int n = 0; n < N; ++n) y[size_t(t) * ldy + n] = y0[size_t(t) * N + n];
        const PanelMatrix packed = pack_panels(w.data(), K, N, false, format);
        std::vector<float> scratch(gemm_scratch_floats(K));
        const int P = packed.panels();
        const int splits[] = {0, 1, std::max(1, P / 2), P};  // P >= 1
        for (int s = 0; s + 1 < 4; ++s)
          gemm_panels(x, T, ldx, packed, bias.data(), y, ldy, e, splits[s], splits[s + 1],
                      scratch.data());
        const auto expected = naive_gemm(xv, T, K, w, N, bias, y0, e);
        for (int t = 0; t < T; ++t)
          for (int n = 0; n < N; ++n)
            ASSERT_EQ(y[size_t(t) * ldy + n], expected[size_t(t) * N + n])
                << "row " << t << " column " << n;
      }
}

TEST(PanelGemm, TransposedPackingReadsWteAsItsTranspose) {
  const int V = 37, C = 5;
  auto wte = uniform(size_t(V) * C, 7);
  const PanelMatrix m = pack_panels(wte.data(), C, V, true, WeightFormat::f32);
  for (int v = 0; v < V; ++v)
    for (int c = 0; c < C; ++c) EXPECT_EQ(m.at(c, v), wte[size_t(v) * C + c]);
}

TEST(PanelGemm, Bf16PackingRoundsToNearestEven) {
  // 1 + 2^-8 is halfway between two bf16 values: ties to even gives 1.
  const float w[3] = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, -2.5f};
  const PanelMatrix m = pack_panels(w, 1, 3, false, WeightFormat::bf16);
  EXPECT_EQ(m.at(0, 0), 1.0f);
  EXPECT_EQ(m.at(0, 1), 1.0f + 4.0f / 256);
  EXPECT_EQ(m.at(0, 2), -2.5f);
  EXPECT_EQ(m.bytes(), size_t(16) * sizeof(uint16_t));
}

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
      for (Simd simd : supported_paths()) {
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
      for (Simd simd : supported_paths()) {
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
