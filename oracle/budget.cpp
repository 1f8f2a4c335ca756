#include "oracle/budget.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <functional>

#include "model/error.h"
#include "model/init.h"
#include "oracle/dd_truth.h"
#include "oracle/ensemble.h"
#include "oracle/flips.h"
#include "oracle/metrics.h"
#include "oracle/term_scales.h"
#include "reference/attention.h"
#include "reference/forward_impl.h"
#include "reference/layers.h"
#include "reference/reference.h"

namespace gpt2::oracle {

namespace {

// The block input of layer l: embed for l = 0, block.{l-1} otherwise.
const Vector& block_input(const Trace<double>& truth, int l) {
  return l == 0 ? truth.embed : truth.block[l - 1];
}

// Indices of the op-level truth's tensors (forward order of trace_tensor_ids).
struct TensorIndex {
  int n_layer;
  int embed() const { return 0; }
  int op(int l, TensorKind kind) const {  // one of the six inside block l
    const int base = 1 + 7 * l;
    switch (kind) {
      case TensorKind::ln_1:
        return base;
      case TensorKind::qkv:
        return base + 1;
      case TensorKind::attn:
        return base + 2;
      case TensorKind::mid:
        return base + 3;
      case TensorKind::ln_2:
        return base + 4;
      case TensorKind::gelu:
        return base + 5;
      default:
        GPT2_CHECK(false, "not an op tensor");
    }
  }
  int block(int l) const { return l < 0 ? 0 : 1 + 7 * l + 6; }
  int ln_f() const { return 1 + 7 * n_layer; }
  int logits() const { return ln_f() + 1; }
};

}  // namespace

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
    out.push_back(gelu_terms(o.ln_2, b.mlp_c_fc_weight, b.mlp_c_fc_bias, o.gelu, T, C, 4 * C));
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
                                 Mask mask, uint64_t seed, int threads) {
  const std::vector<double> scales = term_scales(truth, weights, mask);
  GPT2_CHECK(baseline_errors.size() == scales.size(), "make_budgets: one error per tensor");
  std::vector<Budget> out;
  for (size_t i = 0; i < scales.size(); ++i)
    out.push_back(make_budget(baseline_errors[i], shared_errors.at(i), scales[i]));

  // The maps at double on the stored weights (reference/weight_product.h).
  const Weights<float>& w = weights;
  const Config& cfg = weights.config;
  const int T = truth.n_tokens, C = cfg.n_embd, L = cfg.n_layer, V = cfg.vocab_size;
  const int NH = cfg.n_head, HS = cfg.head_size();
  const double eps = cfg.layer_norm_epsilon;
  const reference::Parallel parallel(threads);
  const TensorIndex index{L};
  uint64_t edge = 0;  // each measured edge draws its own directions
  auto gain = [&](const Vector& x, const std::function<Vector(const Vector&)>& f) {
    return measured_gain(x, f, mix64(seed + 0x6761696e00000000ull + (edge++ << 32)));
  };
  auto norm = [&](const std::vector<float>& g, const std::vector<float>& b) {
    return [&g, &b, T, C, eps](const Vector& x) {
      Vector y;
      reference::layer_norm(y, x, g, b, T, C, eps);
      return y;
    };
  };
  auto linear = [&](const std::vector<float>& m, const std::vector<float>& b, int in, int o) {
    return [&m, &b, in, o, T, &parallel](const Vector& x) {
      Vector y;
      reference::linear(y, x, m, b, T, in, o, parallel);
      return y;
    };
  };

  for (int l = 0; l < L; ++l) {
    const BlockWeights<float>& b = w.blocks[l];
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
           reference::attention(a, q, k, v, T, T, 0, NH, HS, mask, parallel);
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
           reference::linear(u, x, b.mlp_c_fc_weight, b.mlp_c_fc_bias, T, C, 4 * C, parallel);
           reference::gelu_tanh_in_place(u, parallel);
           return u;
         })}};
    Budget& block = out[index.block(l)];
    block.inputs = {{index.op(l, TensorKind::mid), 1.0},
                    {index.op(l, TensorKind::gelu),
                     gain(o.gelu, linear(b.mlp_c_proj_weight, b.mlp_c_proj_bias, 4 * C, C))}};
    block.block_input = {x_in_index, gain(x_in, [&](const Vector& x) {
                           Vector y = x;
                           reference::detail::block_forward<double>(y, b, cfg, T, 0, nullptr, mask,
                                                                    parallel);
                           return y;
                         })};
  }
  const Vector& last = L == 0 ? truth.embed : truth.block.back();
  out[index.ln_f()].inputs = {{index.block(L - 1), gain(last, norm(w.ln_f_weight, w.ln_f_bias))}};
  out[index.logits()].inputs = {{index.ln_f(), gain(truth.ln_f, [&](const Vector& x) {
                                   Vector y;
                                   reference::logits(y, x, w.wte, T, C, V, parallel);
                                   return y;
                                 })}};
  return out;
}

static_assert(TruthPrecision{}.dd_checked_tokens == kDdCheckedTokens);

Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads, bool progress,
                            const TruthPrecision& precision, const Profile& profile) {
  using reference::Precision;
  GPT2_CHECK(precision.precision == Precision::digits50 || precision.precision == Precision::dd,
             "a truth is at 50 digits or double-double");
  const auto start = std::chrono::steady_clock::now();
  auto stage = [&](const char* done) {
    if (!progress) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "  truth of %zu tokens (mask %s): %s, %.1f s\n", tokens.size(),
                 mask_name(mask), done, seconds);
  };
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  options.trace_level = TraceLevel::ops;
  options.progress = progress;
  options.profile = profile.is_f32() ? nullptr : &profile;
  check_judgeable(profile);  // before any work
  Reference r;
  r.profile = profile.name;
  const bool dd = precision.precision == Precision::dd;
  Trace<reference::DoubleDouble> dd_truth;
  if (dd) {
    dd_truth = reference::forward<reference::DoubleDouble>(weights, tokens, options);
    r.truth = convert_trace<double>(dd_truth);
    r.truth_precision = "dd";
    stage("the double-double reference done");
  } else {
    r.truth = reference::run(weights, tokens, Precision::digits50, options);
    stage("the 50-digit reference done");
  }
  const EnsembleErrors e = ensemble_errors(weights, tokens, mask, seed, threads, r.truth, profile);
  stage(("the ensemble done (" + std::to_string(e.stochastic_runs) + " stochastic runs)").c_str());
  r.baseline_errors = e.worst;
  r.shared_errors = e.shared;
  r.float32_errors = e.float32;
  r.budgets =
      make_budgets(r.baseline_errors, r.shared_errors, r.truth, weights, mask, seed, threads);
  if (!profile.is_f32())
    add_flip_allowances(r.budgets, r.truth, weights, tokens, profile, seed, threads);
  stage("the budgets' gains done");
  if (dd) {
    // The certificate (oracle/dd_truth.h): (a) on the first positions, (b)
    // after them. With Mask::none every row sees every token: (a) on all.
    const int T = static_cast<int>(tokens.size());
    const int checked = mask == Mask::causal ? std::clamp(precision.dd_checked_tokens, 1, T) : T;
    const std::vector<int> prefix(tokens.begin(), tokens.begin() + checked);
    const Trace<reference::Real50> truth50 =
        reference::forward<reference::Real50>(weights, prefix, options);
    r.certified_digits = dd_agreement_digits(dd_truth, truth50, checked);
    if (checked < T) {
      const std::vector<int> bound = dd_bound_digits(r.budgets, r.truth, 50);
      for (size_t i = 0; i < bound.size(); ++i)
        r.certified_digits[i] = std::min(r.certified_digits[i], bound[i]);
    }
    r.checked_tokens = checked;
    stage(
        ("the 50-digit check of the first " + std::to_string(checked) + " positions done").c_str());
    const auto worst = std::min_element(r.certified_digits.begin(), r.certified_digits.end());
    if (*worst < kMinDdCertifiedDigits) {
      const auto names = trace_tensor_names(weights.config.n_layer, TraceLevel::ops);
      std::fprintf(stderr,
                   "gpt2-oracle: the double-double truth of %zu tokens is certified to only %d "
                   "digits on %s (at least %d are needed): computing the 50-digit truth instead\n",
                   tokens.size(), *worst, names[worst - r.certified_digits.begin()].c_str(),
                   kMinDdCertifiedDigits);
      return compute_reference(weights, tokens, mask, seed, threads, progress, {}, profile);
    }
  }
  return r;
}

std::vector<Budget> block_level_budgets(const Reference& r) {
  const int L = r.truth.n_layer();
  const TensorIndex op{L};
  // Block-level list: embed 0, block.l at l + 1, ln_f L + 1, logits L + 2.
  std::vector<Budget> out = {r.budgets[op.embed()]};
  // Under a profile, the flips a block-level trace cannot show: each op
  // tensor's flip allowance carried to the block's output through the op
  // graph's gains, as compare_traces hands them on for absent tensors
  // (the block input's own flips are the previous block's).
  std::vector<double> carried(r.budgets.size(), 0.0);
  for (int l = 0; l < L; ++l) {
    for (TensorKind k : {TensorKind::ln_1, TensorKind::qkv, TensorKind::attn, TensorKind::mid,
                         TensorKind::ln_2, TensorKind::gelu}) {
      const int i = op.op(l, k);
      carried[i] = r.budgets[i].flip_allowance;
      for (const BudgetInput& e : r.budgets[i].inputs)
        if (e.tensor > op.block(l - 1)) carried[i] += e.gain * carried[e.tensor];
    }
    Budget b = r.budgets[op.block(l)];
    for (const BudgetInput& e : b.inputs)
      if (e.tensor > op.block(l - 1)) b.flip_allowance += e.gain * carried[e.tensor];
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
