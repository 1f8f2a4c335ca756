#include "oracle/budget.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "model/error.h"
#include "model/init.h"
#include "oracle/ensemble.h"
#include "oracle/metrics.h"
#include "reference/attention.h"
#include "reference/forward_impl.h"
#include "reference/layers.h"
#include "reference/reference.h"

namespace gpt2::oracle {

namespace {

using Vector = std::vector<double>;

double max_abs(const Vector& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// The block input of layer l: embed for l = 0, block.{l-1} otherwise.
const Vector& block_input(const Trace<double>& truth, int l) {
  return l == 0 ? truth.embed : truth.block[l - 1];
}

// max_{t,j} Σ_i |x[t][i]·W[i][j]| + |b[j]| (+ |extra[t][j]|): the terms of
// y = x·W + b (+ extra).   x: [T, in];  W: [in, out];  b: [out];  extra: [T, out] or empty.
double product_terms(const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                     int T, int in, int out, const Vector& extra = {}) {
  double m = 0;
  Vector row(out);
  for (int t = 0; t < T; ++t) {
    for (int j = 0; j < out; ++j) row[j] = std::abs(double(b[j]));
    for (int i = 0; i < in; ++i) {
      const double xi = std::abs(x[size_t(t) * in + i]);
      const float* wi = &w[size_t(i) * out];
      for (int j = 0; j < out; ++j) row[j] += xi * std::abs(double(wi[j]));
    }
    for (int j = 0; j < out; ++j)
      m = std::max(m, row[j] + (extra.empty() ? 0.0 : std::abs(extra[size_t(t) * out + j])));
  }
  return m;
}

// The terms of a LayerNorm's output y_c = (x_c - mean)·rstd·g_c + b_c: the
// input and its mean enter at the scale rstd·|g_c| (a rounding of the mean,
// |mean|·u, reaches y amplified by rstd: over a row of nearly equal values
// rstd is up to 1/sqrt(eps) and the output is pure amplified rounding), and
// the bias at its own. max over rows and channels of
// (|x_c| + |mean|)·rstd·|g_c| + |b_c|.   x: [T, C];  g, b: [C].
double norm_terms(const Vector& x, const std::vector<float>& g, const std::vector<float>& b,
                  int C, double eps) {
  double m = 0;
  for (size_t row = 0; row < x.size() / C; ++row) {
    const double* r = &x[row * C];
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) mean += r[c];
    mean /= C;
    for (int c = 0; c < C; ++c) var += (r[c] - mean) * (r[c] - mean);
    const double rstd = 1 / std::sqrt(var / C + eps);
    for (int c = 0; c < C; ++c)
      m = std::max(m, (std::abs(r[c]) + std::abs(mean)) * rstd * std::abs(double(g[c])) +
                          std::abs(double(b[c])));
  }
  return m;
}

// The terms of attention's output o_d = Σ_j p_j·v_jd, p = softmax(s), s_j =
// q·k_j / sqrt(HS): the values enter at Σ_j p_j·|v_jd|, and a rounding of
// the scores (of the terms of each dot product, Σ_d' |q_d'·k_jd'| / sqrt(HS),
// and of exp's result, 1 relative) moves o_d by Σ_j p_j·|v_jd - o_d| times
// it (the softmax's Jacobian): in a near-tie between scores of order 1e3 that
// is what sets the scale, not the values. max over rows, heads and channels of
// Σ_j p_j·|v_jd| + Σ_j p_j·|v_jd - o_d|·(max_j Σ_d' |q_d'·k_jd'| / sqrt(HS) + 1).
// qkv: [T, 3C], NH heads.
double attention_terms(const Vector& qkv, int T, int C, int NH, Mask mask) {
  const int HS = C / NH;
  const double root = std::sqrt(double(HS));
  double m = 0;
  Vector p(T), score_terms(T);
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < NH; ++h) {
      const int n = reference::visible_keys(mask, t, T);
      const double* q = &qkv[size_t(t) * 3 * C + h * HS];
      double max_score = -INFINITY, max_terms = 0;
      for (int j = 0; j < n; ++j) {
        const double* k = &qkv[size_t(j) * 3 * C + C + h * HS];
        double dot = 0, terms = 0;
        for (int d = 0; d < HS; ++d) dot += q[d] * k[d], terms += std::abs(q[d] * k[d]);
        p[j] = dot / root;
        max_score = std::max(max_score, p[j]);
        max_terms = std::max(max_terms, terms / root);
      }
      double sum = 0;
      for (int j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - max_score));
      for (int j = 0; j < n; ++j) p[j] /= sum;
      for (int d = 0; d < HS; ++d) {
        const size_t column = 2 * C + h * HS + d;
        double o = 0, values = 0, spread = 0;
        for (int j = 0; j < n; ++j) o += p[j] * qkv[size_t(j) * 3 * C + column];
        for (int j = 0; j < n; ++j) {
          const double v = qkv[size_t(j) * 3 * C + column];
          values += p[j] * std::abs(v);
          spread += p[j] * std::abs(v - o);
        }
        m = std::max(m, values + spread * (max_terms + 1));
      }
    }
  return m;
}

// d/du gelu_new(u), in double.
double gelu_derivative(double u) {
  const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
  const double inner = k * (u + c * u * u * u), th = std::tanh(inner);
  return 0.5 * (1 + th) + 0.5 * u * (1 - th * th) * k * (1 + 3 * c * u * u);
}

// The gain of a map f at x (tolerance.h, kGainDirections): max over random
// sign vectors s of |f(x + h·s) - f(x)|∞ / h, h = 2^-20·max|x|.
double measured_gain(const Vector& x, const std::function<Vector(const Vector&)>& f,
                     uint64_t seed) {
  const double h = std::ldexp(std::max(max_abs(x), 1e-30), -20);
  const Vector base = f(x);
  double gain = 0;
  for (int d = 0; d < kGainDirections; ++d) {
    Vector moved = x;
    for (size_t e = 0; e < moved.size(); ++e)
      moved[e] += (mix64(seed + 1000003ull * d + e) >> 63) ? h : -h;
    const Vector out = f(moved);
    for (size_t e = 0; e < out.size(); ++e) gain = std::max(gain, std::abs(out[e] - base[e]) / h);
  }
  return gain;
}

// Indices of the op-level truth's tensors (forward order of trace_tensor_ids).
struct TensorIndex {
  int n_layer;
  int embed() const { return 0; }
  int op(int l, TensorKind kind) const {  // one of the six inside block l
    const int base = 1 + 7 * l;
    switch (kind) {
      case TensorKind::ln_1: return base;
      case TensorKind::qkv: return base + 1;
      case TensorKind::attn: return base + 2;
      case TensorKind::mid: return base + 3;
      case TensorKind::ln_2: return base + 4;
      case TensorKind::gelu: return base + 5;
      default: GPT2_CHECK(false, "not an op tensor");
    }
  }
  int block(int l) const { return l < 0 ? 0 : 1 + 7 * l + 6; }
  int ln_f() const { return 1 + 7 * n_layer; }
  int logits() const { return ln_f() + 1; }
};

}  // namespace

std::vector<double> term_scales(const Trace<double>& truth, const Weights<float>& weights,
                                Mask mask) {
  GPT2_CHECK(truth.level() == TraceLevel::ops || truth.n_layer() == 0,
             "term_scales: the truth is op-level");
  const Config& cfg = weights.config;
  const int T = truth.n_tokens, C = cfg.n_embd, L = cfg.n_layer;
  const double eps = cfg.layer_norm_epsilon;
  std::vector<double> out = {max_abs(truth.embed)};
  for (int l = 0; l < L; ++l) {
    const BlockOps<double>& o = truth.ops[l];
    const BlockWeights<float>& b = weights.blocks[l];
    out.push_back(norm_terms(block_input(truth, l), b.ln_1_weight, b.ln_1_bias, C, eps));
    out.push_back(product_terms(o.ln_1, b.attn_c_attn_weight, b.attn_c_attn_bias, T, C, 3 * C));
    out.push_back(attention_terms(o.qkv, T, C, cfg.n_head, mask));
    out.push_back(product_terms(o.attn, b.attn_c_proj_weight, b.attn_c_proj_bias, T, C, C,
                                block_input(truth, l)));
    out.push_back(norm_terms(o.mid, b.ln_2_weight, b.ln_2_bias, C, eps));
    // gelu: the pre-activation u = ln_2·W_fc + b_fc has terms S_u; gelu(u)
    // rounds at |gelu(u)| and carries u's rounding times |gelu'(u)|.
    double gelu_scale = 0;
    Vector u(4 * C), terms(4 * C);
    for (int t = 0; t < T; ++t) {
      for (int j = 0; j < 4 * C; ++j) {
        u[j] = b.mlp_c_fc_bias[j];
        terms[j] = std::abs(u[j]);
      }
      for (int i = 0; i < C; ++i) {
        const double x = o.ln_2[size_t(t) * C + i];
        const float* wi = &b.mlp_c_fc_weight[size_t(i) * 4 * C];
        for (int j = 0; j < 4 * C; ++j) {
          u[j] += x * double(wi[j]);
          terms[j] += std::abs(x * double(wi[j]));
        }
      }
      for (int j = 0; j < 4 * C; ++j)
        gelu_scale = std::max(gelu_scale, std::abs(o.gelu[size_t(t) * 4 * C + j]) +
                                              std::abs(gelu_derivative(u[j])) * terms[j]);
    }
    out.push_back(gelu_scale);
    out.push_back(
        product_terms(o.gelu, b.mlp_c_proj_weight, b.mlp_c_proj_bias, T, 4 * C, C, o.mid));
  }
  out.push_back(norm_terms(L == 0 ? truth.embed : truth.block.back(), weights.ln_f_weight,
                           weights.ln_f_bias, C, eps));
  // logits[t][v] = Σ_c ln_f[t][c]·wte[v][c]: Σ_c |ln_f[t][c]·wte[v][c]|.
  const int V = cfg.vocab_size;
  double m = 0;
  for (int t = 0; t < T; ++t)
    for (int v = 0; v < V; ++v) {
      double sum = 0;
      for (int c = 0; c < C; ++c)
        sum += std::abs(truth.ln_f[size_t(t) * C + c] * double(weights.wte[size_t(v) * C + c]));
      m = std::max(m, sum);
    }
  out.push_back(m);
  return out;
}

std::vector<Budget> make_budgets(const std::vector<double>& baseline_errors,
                                 const std::vector<double>& shared_errors,
                                 const Trace<double>& truth, const Weights<float>& weights,
                                 Mask mask, uint64_t seed) {
  const std::vector<double> scales = term_scales(truth, weights, mask);
  GPT2_CHECK(baseline_errors.size() == scales.size(), "make_budgets: one error per tensor");
  std::vector<Budget> out;
  for (size_t i = 0; i < scales.size(); ++i)
    out.push_back(make_budget(baseline_errors[i], shared_errors.at(i), scales[i]));

  const Weights<double> w = convert_weights<double>(weights);
  const Config& cfg = weights.config;
  const int T = truth.n_tokens, C = cfg.n_embd, L = cfg.n_layer, V = cfg.vocab_size;
  const int NH = cfg.n_head, HS = cfg.head_size();
  const double eps = cfg.layer_norm_epsilon;
  const reference::Parallel serial(1);
  const TensorIndex index{L};
  uint64_t edge = 0;  // each measured edge draws its own directions
  auto gain = [&](const Vector& x, const std::function<Vector(const Vector&)>& f) {
    return measured_gain(x, f, mix64(seed + 0x6761696e00000000ull + (edge++ << 32)));
  };
  auto norm = [&](const std::vector<double>& g, const std::vector<double>& b) {
    return [&g, &b, T, C, eps](const Vector& x) {
      Vector y;
      reference::layer_norm(y, x, g, b, T, C, eps);
      return y;
    };
  };
  auto linear = [&](const std::vector<double>& m, const std::vector<double>& b, int in, int o) {
    return [&m, &b, in, o, T, &serial](const Vector& x) {
      Vector y;
      reference::linear(y, x, m, b, T, in, o, serial);
      return y;
    };
  };

  for (int l = 0; l < L; ++l) {
    const BlockWeights<double>& b = w.blocks[l];
    const BlockOps<double>& o = truth.ops[l];
    const Vector& x_in = block_input(truth, l);
    const int x_in_index = index.block(l - 1);
    out[index.op(l, TensorKind::ln_1)].inputs = {
        {x_in_index, gain(x_in, norm(b.ln_1_weight, b.ln_1_bias))}};
    out[index.op(l, TensorKind::qkv)].inputs = {
        {index.op(l, TensorKind::ln_1),
         gain(o.ln_1, linear(b.attn_c_attn_weight, b.attn_c_attn_bias, C, 3 * C))}};
    out[index.op(l, TensorKind::attn)].inputs = {
        {index.op(l, TensorKind::qkv), gain(o.qkv, [&](const Vector& qkv) {
           Vector q, k, v, a;
           reference::detail::split_qkv(q, k, v, qkv, T, C);
           reference::attention(a, q, k, v, T, T, 0, NH, HS, mask, serial);
           return a;
         })}};
    // mid = x_in + attn·W + b: the residual passes x_in's error through unchanged.
    out[index.op(l, TensorKind::mid)].inputs = {
        {x_in_index, 1.0},
        {index.op(l, TensorKind::attn),
         gain(o.attn, linear(b.attn_c_proj_weight, b.attn_c_proj_bias, C, C))}};
    out[index.op(l, TensorKind::ln_2)].inputs = {
        {index.op(l, TensorKind::mid), gain(o.mid, norm(b.ln_2_weight, b.ln_2_bias))}};
    out[index.op(l, TensorKind::gelu)].inputs = {
        {index.op(l, TensorKind::ln_2), gain(o.ln_2, [&](const Vector& x) {
           Vector u;
           reference::linear(u, x, b.mlp_c_fc_weight, b.mlp_c_fc_bias, T, C, 4 * C, serial);
           reference::gelu_tanh_in_place(u, serial);
           return u;
         })}};
    Budget& block = out[index.block(l)];
    block.inputs = {{index.op(l, TensorKind::mid), 1.0},
                    {index.op(l, TensorKind::gelu),
                     gain(o.gelu, linear(b.mlp_c_proj_weight, b.mlp_c_proj_bias, 4 * C, C))}};
    block.block_input = {x_in_index, gain(x_in, [&](const Vector& x) {
                           Vector y = x;
                           reference::detail::block_forward<double>(y, b, cfg, T, 0, nullptr,
                                                                    mask, serial);
                           return y;
                         })};
  }
  const Vector& last = L == 0 ? truth.embed : truth.block.back();
  out[index.ln_f()].inputs = {{index.block(L - 1), gain(last, norm(w.ln_f_weight, w.ln_f_bias))}};
  out[index.logits()].inputs = {{index.ln_f(), gain(truth.ln_f, [&](const Vector& x) {
                                   Vector y;
                                   reference::logits(y, x, w.wte, T, C, V, serial);
                                   return y;
                                 })}};
  return out;
}

Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads) {
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  options.trace_level = TraceLevel::ops;
  Reference r;
  r.truth = reference::run(weights, tokens, reference::Precision::digits50, options);
  const EnsembleErrors e = ensemble_errors(weights, tokens, mask, seed, threads, r.truth);
  r.baseline_errors = e.worst;
  r.shared_errors = e.shared;
  r.float32_errors = e.float32;
  r.budgets = make_budgets(r.baseline_errors, r.shared_errors, r.truth, weights, mask, seed);
  return r;
}

std::vector<Budget> block_level_budgets(const Reference& r) {
  const int L = r.truth.n_layer();
  const TensorIndex op{L};
  // Block-level list: embed 0, block.l at l + 1, ln_f L + 1, logits L + 2.
  std::vector<Budget> out = {r.budgets[op.embed()]};
  for (int l = 0; l < L; ++l) {
    Budget b = r.budgets[op.block(l)];
    b.inputs.clear();
    b.block_input.tensor = l;  // embed (0) or block.{l-1} (l)
    out.push_back(b);
  }
  Budget ln_f = r.budgets[op.ln_f()];
  ln_f.inputs[0].tensor = L;
  out.push_back(ln_f);
  Budget logits = r.budgets[op.logits()];
  logits.inputs[0].tensor = L + 1;
  out.push_back(logits);
  return out;
}

}  // namespace gpt2::oracle
