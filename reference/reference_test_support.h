// Helpers shared by the reference's unit tests (not part of the library).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/trace.h"
#include "reference/forward.h"

namespace gpt2::reference::testing {

// The seed of a test's random model: `fallback`, or GPT2_TEST_SEED when set
// (to reproduce or vary a run). Printed either way.
inline uint64_t test_seed(uint64_t fallback) {
  uint64_t seed = fallback;
  if (const char* text = std::getenv("GPT2_TEST_SEED")) seed = std::strtoull(text, nullptr, 0);
  std::printf("[   SEED   ] %llu (override with GPT2_TEST_SEED)\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

// Tokens t_i = (7i + 3) mod V, then t_0 = 0 and t_{T-1} = V-1 when T >= 2 (so
// the first and last ids of the vocabulary always take part). No seed: every
// test that calls it sees the same tokens for the same T and V.
inline std::vector<int> test_tokens(int T, int V) {
  std::vector<int> tokens(T);
  for (int i = 0; i < T; ++i) tokens[i] = static_cast<int>((7 * i + 3) % V);
  if (T >= 2) {
    tokens[0] = 0;
    tokens[T - 1] = V - 1;
  }
  return tokens;
}

// max_i |a_i - b_i| / max_i |b_i|: the difference relative to the tensor's
// scale (elements near zero would make an element-wise relative error
// meaningless). Computed at 100 digits. Returns 0 for identical tensors.
template <class A, class B>
Real100 scaled_difference(const std::vector<A>& a, const std::vector<B>& b) {
  EXPECT_EQ(a.size(), b.size());
  Real100 worst = 0, scale = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    const Real100 x = Real100(a[i]), y = Real100(b[i]);
    const Real100 difference = abs(x - y), magnitude = abs(y);
    if (difference > worst) worst = difference;
    if (magnitude > scale) scale = magnitude;
  }
  return scale == 0 ? worst : Real100(worst / scale);
}

// Significant decimal digits to which two tensors agree: -log10 of the
// scaled difference (capped at 200 for identical tensors).
inline double agreeing_digits(const Real100& scaled) {
  if (scaled == 0) return 200;
  return static_cast<double>(-log10(scaled));
}

// Calls f(name, a_tensor, b_tensor) for every tensor of two traces of the
// same model (their token counts may differ).
template <class A, class B, class F>
void for_each_tensor_pair(const Trace<A>& a, const Trace<B>& b, F&& f) {
  ASSERT_EQ(a.block.size(), b.block.size());
  f(std::string("embed"), a.embed, b.embed);
  for (size_t l = 0; l < a.block.size(); ++l)
    f(TensorId{TensorKind::block, static_cast<int>(l)}.name(), a.block[l], b.block[l]);
  f(std::string("ln_f"), a.ln_f, b.ln_f);
  f(std::string("logits"), a.logits, b.logits);
}

// Row t ([C] or [V]) of a [T, width] tensor.
template <class Real>
std::vector<Real> row(const std::vector<Real>& tensor, int t, int width) {
  return std::vector<Real>(tensor.begin() + static_cast<size_t>(t) * width,
                           tensor.begin() + static_cast<size_t>(t + 1) * width);
}

}  // namespace gpt2::reference::testing
