#include "oracle/flips.h"

#include <algorithm>
#include <cmath>

#include "model/error.h"
#include "model/float_formats.h"
#include "model/init.h"
#include "oracle/budget.h"
#include "oracle/metrics.h"
#include "oracle/term_scales.h"
#include "reference/layers.h"
#include "reference/parallel.h"

namespace gpt2::oracle {

namespace {

Vector rounded_copy(FloatFormat format, const Vector& x) {
  Vector out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = round_to(format, x[i]);
  return out;
}

// GPT-2's gelu_new in double.
double gelu(double x) {
  const double k = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(k * (x + 0.044715 * x * x * x)));
}

// How far a float32 table entry gelu_f32(c) may be from gelu(c): tanh's
// error, a few float32 units of 1 (|tanh| <= 1), through 0.5·c·(1 + tanh)
// (where 1 + tanh cancels, for c below about -4, this is most of it: ggml's
// entries there are up to 1.7 f16 units off), plus the few roundings of
// the products at the magnitude of the result.
double table_entry_noise(double c, double g) {
  return 0.5 * std::abs(c) * kFloorUlps * std::ldexp(1.0, -24) + kFloorUlps * ulp_f32(g);
}

// The table's output for an input u (with the clamps), its entry being the
// exact gelu(f16(u)) moved by `entry_shift` before the entry's rounding.
double table_output(double u, double entry_shift) {
  if (u <= double(kGeluTableLow)) return 0;
  if (u >= double(kGeluTableHigh)) return u;
  const double c = round_to(FloatFormat::f16, u);
  return round_to(FloatFormat::f16, gelu(c) + entry_shift);
}

// The f16 GELU table's flips (flips.h): for each u (c_fc's output, exact),
// the farthest a correct table's output can be from the truth's, over an
// input anywhere within `input_noise` of u (the table's own input: its f16
// rounding may differ, or the clamp may switch) and an entry anywhere within
// its float32 noise of the exact value. 0 where neither can change a bit.
double gelu_table_flip(const Vector& u, double input_noise) {
  double worst = 0;
  for (double x : u) {
    const double truth = table_output(x, 0);
    for (double input : {x - input_noise, x, x + input_noise}) {
      if (input <= double(kGeluTableLow) || input >= double(kGeluTableHigh)) {
        if (input != x) worst = std::max(worst, std::abs(table_output(input, 0) - truth));
        continue;
      }
      const double c = round_to(FloatFormat::f16, input);
      const double noise = table_entry_noise(c, gelu(c));
      for (double shift : {-noise, 0.0, noise})
        worst = std::max(worst, std::abs(table_output(input, shift) - truth));
    }
  }
  return worst;
}

}  // namespace

void check_judgeable(const Profile& profile) {
  if (profile.attention_probs != FloatFormat::f32)
    throw InputError("profile '" + profile.name +
                     "': rounding the attention probabilities has no derived flip allowance "
                     "yet (they are not traced); the oracle cannot judge this profile");
}

void add_flip_allowances(std::vector<Budget>& budgets, const Trace<double>& truth,
                         const Weights<float>& weights, const std::vector<int>& tokens,
                         const Profile& profile, uint64_t seed, int threads) {
  check_judgeable(profile);
  GPT2_CHECK(truth.level() == TraceLevel::ops || truth.n_layer() == 0,
             "flip allowances: the truth is op-level");
  const Config& cfg = weights.config;
  const int T = truth.n_tokens, C = cfg.n_embd, L = cfg.n_layer;
  const reference::Parallel parallel(threads);
  auto linear = [&](const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                    int in, int out) {
    Vector y;
    reference::linear(y, x, w, b, T, in, out, parallel);
    return y;
  };

  // residual: the embedding before its rounding.
  if (profile.residual != FloatFormat::f32) {
    Vector embed(size_t(T) * C);
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < C; ++c)
        embed[size_t(t) * C + c] =
            double(weights.wte[size_t(tokens[t]) * C + c]) + double(weights.wpe[size_t(t) * C + c]);
    budgets[0].flip_allowance += flip_size(profile.residual, embed, own_allowance(budgets[0]));
  }

  const FloatFormat mm = profile.matmul_inputs;
  for (int l = 0; l < L; ++l) {
    const BlockOps<double>& o = truth.ops[l];
    const BlockWeights<float>& b = weights.blocks[l];
    const int mid = op_index(l, 3), ln_2 = op_index(l, 4), gelu_i = op_index(l, 5);
    const int block = op_index(l, 6);

    // residual: mid and the block's output before their rounding, in double
    // from the truth's (rounded) inputs and its operands as the products saw them.
    if (profile.residual != FloatFormat::f32) {
      const Vector& input = l == 0 ? truth.embed : truth.block[l - 1];
      Vector mid_exact = linear(mm == FloatFormat::f32 ? o.attn : rounded_copy(mm, o.attn),
                                b.attn_c_proj_weight, b.attn_c_proj_bias, C, C);
      for (size_t i = 0; i < mid_exact.size(); ++i) mid_exact[i] += input[i];
      budgets[mid].flip_allowance +=
          flip_size(profile.residual, mid_exact, own_allowance(budgets[mid]));
      Vector block_exact = linear(mm == FloatFormat::f32 ? o.gelu : rounded_copy(mm, o.gelu),
                                  b.mlp_c_proj_weight, b.mlp_c_proj_bias, 4 * C, C);
      for (size_t i = 0; i < block_exact.size(); ++i) block_exact[i] += o.mid[i];
      budgets[block].flip_allowance +=
          flip_size(profile.residual, block_exact, own_allowance(budgets[block]));
    }

    // gelu table_f16: its input u and its entries.
    if (profile.gelu == GeluForm::table_f16) {
      const Vector operand = mm == FloatFormat::f32 ? o.ln_2 : rounded_copy(mm, o.ln_2);
      const Vector u = linear(operand, b.mlp_c_fc_weight, b.mlp_c_fc_bias, C, 4 * C);
      // ν(u): ln_2's allowance through the map ln_2 -> u (its gain, measured
      // as every gain of the budget is: tolerance.h), plus u's own rounding
      // (kFloorUlps units at the magnitude of its terms).
      const double gain = measured_gain(
          operand,
          [&](const Vector& x) { return linear(x, b.mlp_c_fc_weight, b.mlp_c_fc_bias, C, 4 * C); },
          mix64(seed + 0x666c697000000000ull + uint64_t(l)));  // "flip"
      double terms = 0;
      for (int t = 0; t < T; ++t)
        for (int j = 0; j < 4 * C; ++j) {
          double sum = std::abs(double(b.mlp_c_fc_bias[j]));
          for (int i = 0; i < C; ++i)
            sum += std::abs(operand[size_t(t) * C + i] *
                            double(b.mlp_c_fc_weight[size_t(i) * 4 * C + j]));
          terms = std::max(terms, sum);
        }
      const double noise = gain * own_allowance(budgets[ln_2]) + kFloorUlps * ulp_f32(terms);
      budgets[gelu_i].flip_allowance += gelu_table_flip(u, noise);
    }
  }

  // matmul_inputs and kv_cache: the roundings of traced tensors, at each
  // rounded tensor's own allowance (compare_traces raises ν to the error an
  // engine under test has there).
  set_flip_edges(budgets, profile, L);
  const std::vector<TensorId> ids = trace_tensor_ids(L, TraceLevel::ops);
  for (Budget& b : budgets)
    for (const FlipEdge& e : b.flip_edges) {
      const std::vector<double>& values = tensor_of(truth, ids[size_t(e.tensor)]);
      const double f = edge_flip_size(e, values, int(values.size()) / T,
                                      own_allowance(budgets[size_t(e.tensor)]));
      if (f > 0) b.flip_allowance += e.gain * f;
    }
}

}  // namespace gpt2::oracle
