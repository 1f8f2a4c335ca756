// The vectorised StochasticFloat row gives the scalar operators' bits on
// every path this CPU has, including values whose roundings are special
// (exact results, zeros, subnormals, overflow to infinity), and the
// reference's linear and logits at StochasticFloat give the textbook loops' bits.
#include "oracle/stochastic_rows.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <random>

#include "reference/layers.h"
#include "reference/parallel.h"

namespace gpt2::oracle {
namespace {

float special_or_random(std::mt19937& rng) {
  const float specials[] = {0.0f,   -0.0f,   1.0f,  -1.0f,  0.5f,
                            1e-40f, -1e-40f, 3e38f, -3e38f, std::numeric_limits<float>::max(),
                            1e-30f, 65504.0f};
  if (rng() % 8 == 0) return specials[rng() % (sizeof specials / sizeof specials[0])];
  std::normal_distribution<float> d(0.0f, 1.0f);
  return d(rng) * std::ldexp(1.0f, static_cast<int>(rng() % 20) - 10);
}

TEST(StochasticRows, EveryPathGivesTheScalarBits) {
  std::mt19937 rng(5);
  const StochasticFloat::Session session(42);
  for (const std::string& path : testing::stochastic_row_paths()) {
    for (int n = 1; n <= 40; ++n) {
      std::vector<StochasticFloat> scalar(n), vector(n);
      std::vector<float> w(n);
      for (int j = 0; j < n; ++j) {
        scalar[j] = vector[j] = StochasticFloat(special_or_random(rng));
        w[j] = special_or_random(rng);
      }
      for (int step = 0; step < 6; ++step) {
        const StochasticFloat x(special_or_random(rng));
        testing::stochastic_row_on("scalar", scalar.data(), x, w.data(), n);
        testing::stochastic_row_on(path, vector.data(), x, w.data(), n);
      }
      ASSERT_EQ(0, std::memcmp(scalar.data(), vector.data(), n * sizeof(float)))
          << path << " n=" << n;
    }
  }
}

TEST(StochasticRows, LinearAndLogitsGiveTheTextbookLoopsBits) {
  std::mt19937 rng(9);
  const int T = 3, in = 29, out = 150, V = 77;
  std::vector<StochasticFloat> x(static_cast<size_t>(T) * in);
  for (auto& v : x) v = StochasticFloat(special_or_random(rng) * 1e-3f);
  std::vector<float> w(static_cast<size_t>(in) * out), b(out), wte(static_cast<size_t>(V) * in);
  std::normal_distribution<float> d(0.0f, 0.05f);
  for (float& v : w) v = d(rng);
  for (float& v : b) v = d(rng);
  for (float& v : wte) v = d(rng);
  const reference::Parallel parallel(2);
  const StochasticFloat::Session session(7);
  for (const std::string& path : testing::stochastic_row_paths()) {
    testing::use_stochastic_row_path(path);
    std::vector<StochasticFloat> y, l;
    reference::linear(y, x, w, b, T, in, out, parallel);
    reference::logits(l, x, wte, T, in, V, parallel);
    for (int t = 0; t < T; ++t) {
      for (int j = 0; j < out; ++j) {
        StochasticFloat sum(0.0f);
        for (int i = 0; i < in; ++i) sum += x[t * in + i] * StochasticFloat(w[i * out + j]);
        sum += StochasticFloat(b[j]);
        ASSERT_EQ(sum.value(), y[t * out + j].value()) << path << " t=" << t << " j=" << j;
      }
      for (int v = 0; v < V; ++v) {
        StochasticFloat sum(0.0f);
        for (int c = 0; c < in; ++c) sum += x[t * in + c] * StochasticFloat(wte[v * in + c]);
        ASSERT_EQ(sum.value(), l[t * V + v].value()) << path << " t=" << t << " v=" << v;
      }
    }
  }
  testing::use_stochastic_row_path(testing::stochastic_row_paths().back());
}

}  // namespace
}  // namespace gpt2::oracle
