// The calibration loop of reference/cost.h for any scalar Real: the
// reference's own linear() (float weights, T = 8 rows) and gelu_new, timed
// on `threads` threads. Header-only so that the oracle times its
// StochasticFloat the same way.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

#include "reference/cost.h"
#include "reference/layers.h"
#include "reference/parallel.h"

namespace gpt2::reference {

template <class Real>
Speed measure_speed(int threads, double seconds_each = 0.05) {
  using Clock = std::chrono::steady_clock;
  const Parallel parallel(threads);
  // Enough columns for every thread: blocks of kLinearColumnBlock each.
  const int T = 8, in = 96, out = kLinearColumnBlock * std::max(2, 2 * parallel.threads());
  std::vector<Real> x(static_cast<size_t>(T) * in), y;
  std::vector<float> w(static_cast<size_t>(in) * out), b(out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = Real(static_cast<int>(i % 13) - 6) / Real(7);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(int(i % 29) - 14);
  Speed speed;
  {
    double products = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      linear(y, x, w, b, T, in, out, parallel);
      products += static_cast<double>(T) * in * out;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds_each);
    speed.multiply_add_seconds = elapsed / products;
  }
  {
    std::vector<Real> h(static_cast<size_t>(64) * std::max(1, parallel.threads()));
    double calls = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      for (size_t i = 0; i < h.size(); ++i) h[i] = Real(static_cast<int>(i % 17) - 8) / Real(5);
      gelu_tanh_in_place(h, parallel);
      calls += static_cast<double>(h.size());
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    } while (elapsed < seconds_each);
    speed.transcendental_seconds = elapsed / calls;
  }
  return speed;
}

}  // namespace gpt2::reference
