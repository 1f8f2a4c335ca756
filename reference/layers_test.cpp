// Each layer equation against numbers worked out by hand.
#include "reference/layers.h"

#include <gtest/gtest.h>

#include "reference/real.h"

namespace gpt2::reference {
namespace {

// x = (1, 2, 3, 4): mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25;
// y = (x - 2.5)/sqrt(1.25 + eps)·2 + 1 with eps = 0.25 -> sqrt(1.5).
TEST(LayersTest, LayerNormUsesBiasedVarianceAndGainAndBias) {
  std::vector<Real50> y;
  layer_norm<Real50>(y, {1, 2, 3, 4}, {2, 2, 2, 2}, {1, 1, 1, 1}, 1, 4, 0.25);
  const Real50 root = sqrt(Real50(1.5));
  const Real50 expected[] = {Real50(-3) / root + 1, Real50(-1) / root + 1, Real50(1) / root + 1,
                             Real50(3) / root + 1};
  for (int c = 0; c < 4; ++c) EXPECT_LT(static_cast<double>(abs(y[c] - expected[c])), 1e-48) << c;
}

// Row (a, -a) with a = 1e-3, eps = 1e-5: y = a/sqrt(a² + eps) = 0.30151134457776361143...
// (eps outside the root would give a/(a + eps) = 0.990).
TEST(LayersTest, LayerNormEpsilonIsInsideTheSquareRoot) {
  std::vector<double> y;
  layer_norm<double>(y, {1e-3, -1e-3}, {1, 1}, {0, 0}, 1, 2, 1e-5);
  EXPECT_NEAR(y[0], 0.30151134457776361143, 1e-15);
  EXPECT_NEAR(y[1], -0.30151134457776361143, 1e-15);
}

TEST(LayersTest, LayerNormOfAConstantRowIsTheBias) {
  std::vector<Real50> y;
  layer_norm<Real50>(y, {3, 3, 3}, {5, 5, 5}, {0.25, -1, 2}, 1, 3, 1e-5);
  EXPECT_TRUE(y == (std::vector<Real50>{0.25, -1, 2}));
}

// gelu_new at ±1 and 2, from mpmath at 70 digits; the erf form would give
// 0.8413447460685429 at 1.
TEST(LayersTest, GeluTanhMatchesGpt2sFormula) {
  struct Row {
    int x;
    const char* gelu;
  };
  const Row rows[] = {{1, "0.8411919906082767047819957770451838608257614701140094377"},
                      {-1, "-0.1588080093917232952180042229548161391742385298859905623"},
                      {2, "1.954597694087775018781041386150719039642061226685869194"},
                      {0, "0"}};
  const GeluTanh<Real50> gelu;
  for (const Row& row : rows) {
    const Real50 error = abs(gelu(Real50(row.x)) - Real50(row.gelu));
    EXPECT_LT(static_cast<double>(error), 1e-48) << "gelu_new(" << row.x << ")";
  }
  EXPECT_NEAR(GeluTanh<double>()(1.0), 0.8411919906082767, 1e-15);
  EXPECT_NEAR(GeluTanh<float>()(1.0f), 0.84119199f, 1e-6f);
}

TEST(LayersTest, DecimalConstantsHaveTheScalarsFullPrecision) {
  EXPECT_TRUE(decimal<Real50>("0.044715") == Real50(44715) / Real50(1000000));
  EXPECT_EQ(decimal<double>("0.044715"), 0.044715);
  EXPECT_EQ(decimal<float>("0.044715"), 0.044715f);
}

// Conv1D layout: W is [in, out]; y = x·W + b.
// x = [[1, 2, 3], [4, 5, 6]], W = [[1, 0], [0, 1], [1, 1]], b = (10, 20)
// -> y = [[1 + 3 + 10, 2 + 3 + 20], [4 + 6 + 10, 5 + 6 + 20]].
TEST(LayersTest, LinearIsConv1dWithWeightsStoredInByOut) {
  std::vector<double> y;
  const Parallel serial(1);
  linear<double>(y, {1, 2, 3, 4, 5, 6}, {1, 0, 0, 1, 1, 1}, {10, 20}, 2, 3, 2, serial);
  EXPECT_EQ(y, (std::vector<double>{14, 25, 20, 31}));
}

// Odd sizes and more than one column block, against the textbook triple loop.
TEST(LayersTest, LinearMatchesTextbookLoopOverSeveralColumnBlocks) {
  const int T = 3, in = 5, out = 2 * kLinearColumnBlock + 7;
  std::vector<double> x(T * in), w(in * out), b(out), y;
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25 * static_cast<double>(i % 7) - 0.5;
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.125 * static_cast<double>(i % 11) - 0.625;
  for (int j = 0; j < out; ++j) b[j] = 0.5 * j;
  for (int threads : {1, 2, 3}) {
    linear<double>(y, x, w, b, T, in, out, Parallel(threads));
    for (int t = 0; t < T; ++t)
      for (int j = 0; j < out; ++j) {
        double sum = 0;
        for (int i = 0; i < in; ++i) sum += x[t * in + i] * w[i * out + j];
        EXPECT_EQ(y[t * out + j], sum + b[j]) << t << "," << j << " threads " << threads;
      }
  }
}

// logits = h·wteᵀ: token v's logit is the dot product with row v of wte.
TEST(LayersTest, LogitsAreTheDotProductWithTheTiedEmbedding) {
  std::vector<double> out;
  // h: [1, 2]; wte: [3, 2]
  logits<double>(out, {2, 3}, {1, 0, 0, 1, 1, -1}, 1, 2, 3, Parallel(1));
  EXPECT_EQ(out, (std::vector<double>{2, 3, -1}));
}

TEST(LayersTest, EmbeddingAddsTokenAndPositionRows) {
  std::vector<double> x;
  const std::vector<int> tokens = {2, 0};
  // wte: [3, 2]; wpe: [3, 2]; positions 1 and 2.
  embedding<double>(x, tokens, 1, {1, 2, 3, 4, 5, 6}, {10, 20, 30, 40, 50, 60}, 2);
  EXPECT_EQ(x, (std::vector<double>{35, 46, 51, 62}));
}

}  // namespace
}  // namespace gpt2::reference
