// Trace comparison for the optimized engine's tests.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include "model/trace.h"

namespace gpt2::optimized::testing {

// Two float32 evaluations of one forward pass on the same weights differ only
// in rounding order. A length-K dot product carries at most K·u relative error
// of Σ|x_k·w_k| (Higham's γ_K bound, u = 2⁻²⁴); a block chains four products
// (K ≤ 4C) and a LayerNorm, which can amplify a relative error of its input by
// up to max|x| / std(x) ≤ sqrt(C); the lm_head adds one more length-C product.
// So each tensor may differ by at most about (L + 1) · 4 · 4C · sqrt(C) · u
// relative to its scale max(1, max|x|). This is a worst-case bound: measured
// differences on the test models are one to two orders of magnitude smaller.
inline double cross_order_tolerance(const Config& c) {
  constexpr double kU = 1.0 / (1 << 24);
  return (c.n_layer + 1) * 4.0 * 4 * c.n_embd * std::sqrt(double(c.n_embd)) * kU;
}

struct TraceDifference {
  std::string tensor;  // worst tensor relative to its scale
  int position = -1;
  double error = 0;  // max |a - b| / max(1, max |b|) over that tensor
};

// The worst scaled difference over all tensors; positions [0, rows).
inline TraceDifference max_scaled_difference(const Trace<double>& a, const Trace<double>& b) {
  TraceDifference worst;
  auto visit = [&](const std::string& name, const std::vector<double>& x,
                   const std::vector<double>& y, int width) {
    double scale = 1;
    for (double v : y) scale = std::max(scale, std::abs(v));
    for (size_t i = 0; i < x.size(); ++i) {
      const double e = std::isfinite(x[i]) ? std::abs(x[i] - y[i]) / scale : INFINITY;
      if (e > worst.error || (worst.tensor.empty() && e >= 0)) {
        worst = {name, int(i / width), e};
      }
    }
  };
  visit("embed", a.embed, b.embed, a.n_embd);
  for (size_t l = 0; l < a.block.size(); ++l)
    visit(TensorId{TensorKind::block, int(l)}.name(), a.block[l], b.block[l], a.n_embd);
  visit("ln_f", a.ln_f, b.ln_f, a.n_embd);
  visit("logits", a.logits, b.logits, a.vocab_size);
  return worst;
}

inline bool bit_identical(const Trace<double>& a, const Trace<double>& b) {
  if (a.embed != b.embed || a.ln_f != b.ln_f || a.logits != b.logits) return false;
  return a.block == b.block;
}

}  // namespace gpt2::optimized::testing
