// The parts of oracle/flips.h that need only the budgets and the formats
// (no reference code): a case's reader links them (fuzz_case_json too).
#include <algorithm>
#include <cmath>

#include "model/error.h"
#include "oracle/flips.h"

namespace gpt2::oracle {

namespace {

// The gain of input `tensor` among b's inputs.
double edge_gain(const Budget& b, int tensor) {
  for (const auto& e : b.inputs)
    if (e.tensor == tensor) return e.gain;
  GPT2_CHECK(false, "flip allowance: no such edge in the tensor graph");
}

}  // namespace

double own_allowance(const Budget& b) { return b.multiplier * b.baseline_error + b.floor; }

double rounding_spread(FloatFormat format, double x, double noise) {
  const double r = round_to(format, x);
  return std::max(std::abs(round_to(format, x + noise) - r),
                  std::abs(round_to(format, x - noise) - r));
}

double flip_size(FloatFormat format, const std::vector<double>& values, double noise) {
  if (format == FloatFormat::f32) return 0;
  double worst = 0;
  for (double x : values) worst = std::max(worst, rounding_spread(format, x, noise));
  return worst;
}

double edge_flip_size(const FlipEdge& edge, const std::vector<double>& values, int width,
                      double noise) {
  if (edge.format == FloatFormat::f32) return 0;
  if (!edge.kv_columns) return flip_size(edge.format, values, noise);
  const int C = width / 3;  // qkv: [q | k | v] per row; the cache holds k and v
  double worst = 0;
  for (size_t row = 0; row + size_t(width) <= values.size(); row += size_t(width))
    for (int c = C; c < width; ++c)
      worst = std::max(worst, rounding_spread(edge.format, values[row + size_t(c)], noise));
  return worst;
}

void set_flip_edges(std::vector<Budget>& budgets, const Profile& profile, int n_layer) {
  GPT2_CHECK(budgets.size() == size_t(op_index(n_layer, 0) + 2),
             "flip edges: the budgets are op-level");
  for (Budget& b : budgets) b.flip_edges.clear();
  auto add = [&](int rounded, int consumer, FloatFormat format, bool kv_columns) {
    if (format == FloatFormat::f32) return;
    budgets[consumer].flip_edges.push_back(
        FlipEdge{rounded, edge_gain(budgets[consumer], rounded), format, kv_columns});
  };
  const FloatFormat mm = profile.matmul_inputs;
  for (int l = 0; l < n_layer; ++l) {
    const int ln_1 = op_index(l, 0), qkv = op_index(l, 1), attn = op_index(l, 2);
    const int mid = op_index(l, 3), ln_2 = op_index(l, 4), gelu_i = op_index(l, 5);
    add(ln_1, qkv, mm, false);
    add(attn, mid, mm, false);
    add(ln_2, gelu_i, mm, false);
    add(gelu_i, op_index(l, 6), mm, false);
    add(qkv, attn, profile.kv_cache, true);
  }
  const int ln_f = op_index(n_layer, 0);
  add(ln_f, ln_f + 1, mm, false);
}

}  // namespace gpt2::oracle
