// The vectorised double-double loop gives the scalar loop's bits on every
// path this CPU runs, and `linear` and `logits` at DoubleDouble give the
// textbook loops' bits (the sums in the same order, MultiplyAdd per term).
#include "reference/dd_kernels.h"

#include <gtest/gtest.h>

#include <random>

#include "reference/layers.h"
#include "reference/parallel.h"

namespace gpt2::reference {
namespace {

DoubleDouble random_activation(std::mt19937_64& rng) {
  std::normal_distribution<double> d(0.0, 1.0);
  const double hi = d(rng);
  return dd_detail::fast_two_sum(hi, hi * 0x1p-54 * d(rng));
}

std::vector<float> random_weights(std::mt19937_64& rng, size_t n) {
  std::normal_distribution<float> d(0.0f, 0.05f);
  std::vector<float> w(n);
  for (float& x : w) x = d(rng);
  return w;
}

bool same_bits(const DoubleDouble& a, const DoubleDouble& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

TEST(DdKernels, EveryPathGivesTheScalarBits) {
  std::mt19937_64 rng(7);
  for (DdPath path : dd_paths_supported()) {
    for (int n = 1; n <= 70; ++n) {
      std::vector<double> hi0(n), lo0(n), w(n);
      for (int j = 0; j < n; ++j) {
        const DoubleDouble a = random_activation(rng);
        hi0[j] = a.hi, lo0[j] = a.lo;
        w[j] = static_cast<double>(random_weights(rng, 1)[0]);
      }
      std::vector<double> hi_s = hi0, lo_s = lo0, hi_p = hi0, lo_p = lo0;
      for (int step = 0; step < 5; ++step) {
        const DoubleDouble x = random_activation(rng);
        dd_multiply_add_row_on(DdPath::scalar, hi_s.data(), lo_s.data(), x, w.data(), n);
        dd_multiply_add_row_on(path, hi_p.data(), lo_p.data(), x, w.data(), n);
      }
      ASSERT_EQ(0, std::memcmp(hi_s.data(), hi_p.data(), n * sizeof(double)))
          << dd_path_name(path) << " n=" << n;
      ASSERT_EQ(0, std::memcmp(lo_s.data(), lo_p.data(), n * sizeof(double)))
          << dd_path_name(path) << " n=" << n;
    }
  }
}

TEST(DdKernels, LinearAndLogitsGiveTheTextbookLoopsBits) {
  std::mt19937_64 rng(11);
  const int T = 3, in = 37, out = 150, V = 133;  // blocks with tails of every path
  std::vector<DoubleDouble> x(static_cast<size_t>(T) * in);
  for (auto& v : x) v = random_activation(rng);
  const std::vector<float> w = random_weights(rng, static_cast<size_t>(in) * out);
  const std::vector<float> b = random_weights(rng, out);
  const std::vector<float> wte = random_weights(rng, static_cast<size_t>(V) * in);
  const Parallel parallel(2);
  for (DdPath path : dd_paths_supported()) {
    force_dd_path(path);
    std::vector<DoubleDouble> y, l;
    linear(y, x, w, b, T, in, out, parallel);
    logits(l, x, wte, T, in, V, parallel);
    MultiplyAdd<DoubleDouble> multiply_add;
    for (int t = 0; t < T; ++t) {
      for (int j = 0; j < out; ++j) {
        DoubleDouble sum(0.0);
        for (int i = 0; i < in; ++i)
          multiply_add(sum, x[t * in + i], static_cast<double>(w[i * out + j]));
        sum += DoubleDouble(b[j]);
        ASSERT_TRUE(same_bits(sum, y[t * out + j]))
            << dd_path_name(path) << " t=" << t << " j=" << j;
      }
      for (int v = 0; v < V; ++v) {
        DoubleDouble sum(0.0);
        for (int c = 0; c < in; ++c)
          multiply_add(sum, x[t * in + c], static_cast<double>(wte[v * in + c]));
        ASSERT_TRUE(same_bits(sum, l[t * V + v])) << dd_path_name(path) << " t=" << t << " v=" << v;
      }
    }
  }
  force_dd_path(dd_paths_supported().back());
}

}  // namespace
}  // namespace gpt2::reference
