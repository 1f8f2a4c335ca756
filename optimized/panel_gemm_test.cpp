// The panel GEMM against its naive twin, on every SIMD path, at every remainder.
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
#include "optimized/simd_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::SimdGuard;
using testing::uniform;

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
  // one more. N = 400: 25 panels, 12 and 13 per call: on AVX-512 a one-row
  // step streams a group of 8, then 4, then one. T = 32 and 33: the last
  // streamed batch and the first tiled one.
  const int Ns[] = {1, 7, 16, 17, 33, 70, 150, 400};
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
// count of columns N below twice the widest group of panels (8 panels = 128
// columns, the one-row decode step's on AVX-512), and every K up to 33, each
// at three misalignments of x and y (their first element 0, 1 or 3 floats into a
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
  for (int N = 1; N < 2 * 128; ++N)
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

}  // namespace
}  // namespace gpt2::optimized
