// Small random models and token lists for the optimized engine's tests.
// Every generator is seeded; tests print the seed (SCOPED_TRACE) so a
// failure can be reproduced exactly.
#pragma once

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/weights.h"

namespace gpt2::optimized::testing {

inline std::string describe(const Config& c) {
  std::ostringstream s;
  s << "L=" << c.n_layer << " NH=" << c.n_head << " C=" << c.n_embd << " P=" << c.n_ctx
    << " V=" << c.vocab_size;
  return s.str();
}

// Uniform weights of GPT-2-like scale: embeddings in ±0.5, matrices in
// ±1/sqrt(in), biases ±0.1, LayerNorm weight 1 ± 0.2.
inline Weights<float> random_weights(const Config& config, uint64_t seed) {
  Weights<float> w = zero_weights<float>(config);
  std::mt19937_64 rng(seed);
  auto fill = [&](std::vector<float>& t, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (float& v : t) v = d(rng);
  };
  for_each_tensor(w, [&](const std::string& name, std::vector<float>& t, const Shape& shape) {
    const bool is_bias = name.ends_with(".bias");
    const bool is_norm = name.find("ln_") != std::string::npos;
    if (is_norm && !is_bias) {
      fill(t, 0.8f, 1.2f);
    } else if (is_bias) {
      fill(t, -0.1f, 0.1f);
    } else if (shape.size() == 2 && name.find("weight") != std::string::npos &&
               name.rfind("wte", 0) != 0 && name.rfind("wpe", 0) != 0) {
      const float a = 1.0f / std::sqrt(static_cast<float>(shape[0]));
      fill(t, -a, a);
    } else {
      fill(t, -0.5f, 0.5f);
    }
  });
  return w;
}

inline std::vector<int> random_tokens(int n, int vocab, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> t(n);
  for (int& v : t) v = d(rng);
  if (n > 0) t[0] = vocab - 1;  // the extreme ids are always exercised
  if (n > 1) t[1] = 0;
  return t;
}

}  // namespace gpt2::optimized::testing
