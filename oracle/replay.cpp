// Instantiates the reference's per-equation functions (reference/layers.h,
// reference/attention.h) at Real50, float and StochasticFloat, to apply one
// op to given float32 inputs.
#include "oracle/replay.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <span>

#include "model/error.h"
#include "model/init.h"
#include "model/tokens.h"
#include "optimized/kv_cache.h"
#include "optimized/thread_pool.h"
#include "oracle/ensemble.h"
#include "oracle/ordered_kernels.h"
#include "oracle/stochastic_float.h"
#include "oracle/term_scales.h"
#include "reference/attention.h"
#include "reference/forward_impl.h"
#include "reference/layers.h"
#include "reference/real.h"

namespace gpt2::oracle {

using optimized::NormSite;
using optimized::Pass;
using optimized::Projection;

// ---- names ---------------------------------------------------------------------

std::string ReplayOpId::name() const {
  switch (op) {
    case ReplayOp::embed:
      return "embed";
    case ReplayOp::ln_1:
      return "layer_norm ln_1";
    case ReplayOp::qkv:
      return "project qkv";
    case ReplayOp::attention:
      return "attention";
    case ReplayOp::attn_proj:
      return "project attn_proj";
    case ReplayOp::ln_2:
      return "layer_norm ln_2";
    case ReplayOp::fc_gelu:
      return "project_gelu fc";
    case ReplayOp::mlp_proj:
      return "project mlp_proj";
    case ReplayOp::ln_f:
      return "layer_norm ln_f";
    case ReplayOp::logits:
      return "logits";
  }
  return "?";
}

const char* ReplayOpId::cli_name() const {
  switch (op) {
    case ReplayOp::embed:
      return "embed";
    case ReplayOp::ln_1:
      return "ln_1";
    case ReplayOp::qkv:
      return "qkv";
    case ReplayOp::attention:
      return "attention";
    case ReplayOp::attn_proj:
      return "attn_proj";
    case ReplayOp::ln_2:
      return "ln_2";
    case ReplayOp::fc_gelu:
      return "fc_gelu";
    case ReplayOp::mlp_proj:
      return "mlp_proj";
    case ReplayOp::ln_f:
      return "ln_f";
    case ReplayOp::logits:
      return "logits";
  }
  return "?";
}

TensorId ReplayOpId::output() const {
  switch (op) {
    case ReplayOp::embed:
      return {TensorKind::embed, -1};
    case ReplayOp::ln_1:
      return {TensorKind::ln_1, layer};
    case ReplayOp::qkv:
      return {TensorKind::qkv, layer};
    case ReplayOp::attention:
      return {TensorKind::attn, layer};
    case ReplayOp::attn_proj:
      return {TensorKind::mid, layer};
    case ReplayOp::ln_2:
      return {TensorKind::ln_2, layer};
    case ReplayOp::fc_gelu:
      return {TensorKind::gelu, layer};
    case ReplayOp::mlp_proj:
      return {TensorKind::block, layer};
    case ReplayOp::ln_f:
      return {TensorKind::ln_f, -1};
    case ReplayOp::logits:
      return {TensorKind::logits, -1};
  }
  return {};
}

namespace {
constexpr ReplayOp kBlockOps[] = {ReplayOp::ln_1,      ReplayOp::qkv,  ReplayOp::attention,
                                  ReplayOp::attn_proj, ReplayOp::ln_2, ReplayOp::fc_gelu,
                                  ReplayOp::mlp_proj};
}  // namespace

std::vector<ReplayOpId> replay_ops(int n_layer) {
  std::vector<ReplayOpId> out = {{ReplayOp::embed, -1}};
  for (int l = 0; l < n_layer; ++l)
    for (ReplayOp op : kBlockOps) out.push_back({op, l});
  out.push_back({ReplayOp::ln_f, -1});
  out.push_back({ReplayOp::logits, -1});
  return out;
}

std::optional<ReplayOp> parse_replay_op(const std::string& text) {
  for (const ReplayOpId& id : replay_ops(1))
    if (text == id.cli_name()) return id.op;
  return std::nullopt;
}

std::vector<Pass> scenario_passes(int n_tokens, const std::vector<int>& chunks, Mask mask) {
  std::vector<Pass> passes;
  int position = 0;
  for (int chunk : chunks) {
    GPT2_CHECK(chunk >= 1 && position + chunk <= n_tokens,
               "scenario_passes: chunks fit the tokens");
    passes.push_back({position, chunk, mask, false});
    position += chunk;
  }
  for (; position < n_tokens; ++position) passes.push_back({position, 1, Mask::causal, true});
  return passes;
}

// ---- the ops at a scalar Real, on float32 inputs ---------------------------------

namespace {

template <class Real>
std::vector<Real> to_real(const std::vector<float>& v) {
  std::vector<Real> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = Real(v[i]);
  return out;
}

template <class Real>
Vector to_double(const std::vector<Real>& v) {
  Vector out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<double>(v[i]);
  return out;
}

// Op `c` of the model applied to its float32 inputs at scalar Real, with the
// reference's own per-equation functions on the stored weights (they meet
// Real only in reference/weight_product.h); the output rounded to double.
template <class Real>
Vector evaluate(const ReplayCase& c, const Weights<float>& w, const std::vector<int>& tokens,
                Mask mask, const reference::Parallel& parallel) {
  const Config& cfg = w.config;
  const int T = static_cast<int>(tokens.size()), C = cfg.n_embd, V = cfg.vocab_size;
  const double eps = cfg.layer_norm_epsilon;
  std::vector<Real> y;
  if (c.id.op == ReplayOp::embed) {  // x[t] = wte[token] + wpe[t]
    reference::embedding(y, std::span<const int>(tokens), 0, w.wte, w.wpe, C);
    return to_double(y);
  }
  const std::vector<Real> x = to_real<Real>(c.input);
  if (c.id.op == ReplayOp::logits) {
    reference::logits(y, x, w.wte, T, C, V, parallel);
    return to_double(y);
  }
  if (c.id.op == ReplayOp::ln_f) {
    reference::layer_norm(y, x, w.ln_f_weight, w.ln_f_bias, T, C, eps);
    return to_double(y);
  }
  const BlockWeights<float>& b = w.blocks.at(c.id.layer);
  switch (c.id.op) {
    case ReplayOp::ln_1:
      reference::layer_norm(y, x, b.ln_1_weight, b.ln_1_bias, T, C, eps);
      break;
    case ReplayOp::ln_2:
      reference::layer_norm(y, x, b.ln_2_weight, b.ln_2_bias, T, C, eps);
      break;
    case ReplayOp::qkv:
      reference::linear(y, x, b.attn_c_attn_weight, b.attn_c_attn_bias, T, C, 3 * C, parallel);
      break;
    case ReplayOp::attention: {
      std::vector<Real> q, k, v;
      reference::detail::split_qkv(q, k, v, x, T, C);
      reference::attention(y, q, k, v, T, T, 0, cfg.n_head, cfg.head_size(), mask, parallel);
      break;
    }
    case ReplayOp::attn_proj:  // mid = x_in + a·W + b
      reference::linear(y, x, b.attn_c_proj_weight, b.attn_c_proj_bias, T, C, C, parallel);
      reference::add_in_place(y, to_real<Real>(c.residual));
      break;
    case ReplayOp::fc_gelu:
      reference::linear(y, x, b.mlp_c_fc_weight, b.mlp_c_fc_bias, T, C, 4 * C, parallel);
      reference::gelu_tanh_in_place(y, parallel);
      break;
    case ReplayOp::mlp_proj:  // block = mid + g·W + b
      reference::linear(y, x, b.mlp_c_proj_weight, b.mlp_c_proj_bias, T, 4 * C, C, parallel);
      reference::add_in_place(y, to_real<Real>(c.residual));
      break;
    default:
      GPT2_CHECK(false, "evaluate: unhandled op");
  }
  return to_double(y);
}

// The op run by kernel set instance `k` over `passes`, each pass on its
// rows of the inputs. `cache` holds what attention's write_cache stored in
// earlier passes.
std::vector<float> run_kernel_op(optimized::Kernels& k, optimized::KvCache& cache,
                                 const ReplayCase& c, const std::vector<Pass>& passes,
                                 const std::vector<int>& tokens) {
  const int T = static_cast<int>(tokens.size());
  const size_t in = c.input.size() / T, width = c.width;
  std::vector<float> out =
      c.residual.empty() ? std::vector<float>(size_t(T) * width, 0.0f) : c.residual;
  const int l = c.id.layer;
  for (const Pass& p : passes) {
    const float* x = c.input.data() + size_t(p.pos0) * in;
    float* y = out.data() + size_t(p.pos0) * width;
    switch (c.id.op) {
      case ReplayOp::embed:
        k.embed(p, tokens.data() + p.pos0, y);
        break;
      case ReplayOp::ln_1:
        k.layer_norm(p, l, NormSite::ln_1, x, p.n_tokens, y);
        break;
      case ReplayOp::qkv:
        k.project(p, l, Projection::qkv, x, y, false);
        break;
      case ReplayOp::attention:
        k.write_cache(p, l, x, cache);
        k.attention(p, l, x, cache, y);
        break;
      case ReplayOp::attn_proj:
        k.project(p, l, Projection::attn_proj, x, y, true);
        break;
      case ReplayOp::ln_2:
        k.layer_norm(p, l, NormSite::ln_2, x, p.n_tokens, y);
        break;
      case ReplayOp::fc_gelu:
        k.project_gelu(p, l, x, y);
        break;
      case ReplayOp::mlp_proj:
        k.project(p, l, Projection::mlp_proj, x, y, true);
        break;
      case ReplayOp::ln_f:
        k.layer_norm(p, 0, NormSite::ln_f, x, p.n_tokens, y);
        break;
      case ReplayOp::logits:
        k.logits(p, x, p.n_tokens, y);
        break;
    }
  }
  return out;
}

std::vector<float> to_float(const Vector& v) { return std::vector<float>(v.begin(), v.end()); }

// The op's input (and residual) from the truth, rounded to float32.
void set_inputs(ReplayCase& c, const Trace<double>& truth) {
  const int l = c.id.layer;
  const Vector& x_in = l <= 0 ? truth.embed : truth.block[l - 1];
  const Vector& last = truth.block.empty() ? truth.embed : truth.block.back();
  switch (c.id.op) {
    case ReplayOp::embed:
      break;
    case ReplayOp::ln_1:
      c.input = to_float(x_in);
      break;
    case ReplayOp::qkv:
      c.input = to_float(truth.ops[l].ln_1);
      break;
    case ReplayOp::attention:
      c.input = to_float(truth.ops[l].qkv);
      break;
    case ReplayOp::attn_proj:
      c.input = to_float(truth.ops[l].attn);
      c.residual = to_float(x_in);
      break;
    case ReplayOp::ln_2:
      c.input = to_float(truth.ops[l].mid);
      break;
    case ReplayOp::fc_gelu:
      c.input = to_float(truth.ops[l].ln_2);
      break;
    case ReplayOp::mlp_proj:
      c.input = to_float(truth.ops[l].gelu);
      c.residual = to_float(truth.ops[l].mid);
      break;
    case ReplayOp::ln_f:
      c.input = to_float(last);
      break;
    case ReplayOp::logits:
      c.input = to_float(truth.ln_f);
      break;
  }
}

Vector widen(const std::vector<float>& v) { return Vector(v.begin(), v.end()); }

// S of the op's terms on its inputs (oracle/term_scales.h, as for the trace).
double op_term_scale(const ReplayCase& c, const Weights<float>& w, int T, Mask mask) {
  const Config& cfg = w.config;
  const int C = cfg.n_embd;
  const double eps = cfg.layer_norm_epsilon;
  const Vector x = widen(c.input);
  switch (c.id.op) {
    case ReplayOp::embed:
      return max_abs(c.truth);
    case ReplayOp::ln_f:
      return norm_terms(x, w.ln_f_weight, w.ln_f_bias, C, eps);
    case ReplayOp::logits: {
      double m = 0;
      for (int t = 0; t < T; ++t)
        for (int v = 0; v < cfg.vocab_size; ++v) {
          double sum = 0;
          for (int i = 0; i < C; ++i)
            sum += std::abs(x[size_t(t) * C + i] * double(w.wte[size_t(v) * C + i]));
          m = std::max(m, sum);
        }
      return m;
    }
    default:
      break;
  }
  const BlockWeights<float>& b = w.blocks.at(c.id.layer);
  switch (c.id.op) {
    case ReplayOp::ln_1:
      return norm_terms(x, b.ln_1_weight, b.ln_1_bias, C, eps);
    case ReplayOp::ln_2:
      return norm_terms(x, b.ln_2_weight, b.ln_2_bias, C, eps);
    case ReplayOp::qkv:
      return product_terms(x, b.attn_c_attn_weight, b.attn_c_attn_bias, T, C, 3 * C);
    case ReplayOp::attention:
      return attention_terms(x, T, C, cfg.n_head, mask);
    case ReplayOp::attn_proj:
      return product_terms(x, b.attn_c_proj_weight, b.attn_c_proj_bias, T, C, C, widen(c.residual));
    case ReplayOp::fc_gelu:
      return gelu_terms(x, b.mlp_c_fc_weight, b.mlp_c_fc_bias, c.truth, T, C, 4 * C);
    case ReplayOp::mlp_proj:
      return product_terms(x, b.mlp_c_proj_weight, b.mlp_c_proj_bias, T, 4 * C, C,
                           widen(c.residual));
    default:
      break;
  }
  GPT2_CHECK(false, "op_term_scale: unhandled op");
}

double max_error(const Vector& value, const Vector& truth) {
  const TensorMetrics m = compare_tensors(value, truth);
  return m.first_non_finite >= 0 ? std::numeric_limits<double>::infinity() : m.max_abs_error;
}

}  // namespace

ReplayReference assemble_replay_reference(const Config& cfg, const std::vector<int>& tokens,
                                          Mask mask, const Trace<double>& truth,
                                          std::vector<std::vector<double>> op_truths,
                                          std::vector<Budget> budgets, int stochastic_runs,
                                          const std::string& source) {
  const std::vector<ReplayOpId> ids = replay_ops(cfg.n_layer);
  if (op_truths.size() != ids.size() || budgets.size() != ids.size())
    throw InputError(source + ": " + std::to_string(op_truths.size()) + " op truths and " +
                     std::to_string(budgets.size()) + " budgets for " + std::to_string(ids.size()) +
                     " ops");
  const int T = static_cast<int>(tokens.size());
  ReplayReference ref;
  ref.tokens = tokens;
  ref.mask = mask;
  ref.stochastic_runs = stochastic_runs;
  for (size_t i = 0; i < ids.size(); ++i) {
    ReplayCase c;
    c.id = ids[i];
    c.width = tensor_width(ids[i].output().kind, cfg);
    if (op_truths[i].size() != size_t(T) * c.width)
      throw InputError(source + ": the truth of " + ids[i].name() + " has " +
                       std::to_string(op_truths[i].size()) + " elements, expected " +
                       std::to_string(size_t(T) * c.width));
    set_inputs(c, truth);
    c.truth = std::move(op_truths[i]);
    c.budget = budgets[i];
    ref.ops.push_back(std::move(c));
  }
  return ref;
}

ReplayReference compute_replay_reference(const Weights<float>& weights,
                                         const std::vector<int>& tokens, Mask mask,
                                         const Trace<double>& truth, uint64_t seed,
                                         const std::vector<ReplayOpId>& only, int threads) {
  GPT2_CHECK(truth.level() == TraceLevel::ops || truth.n_layer() == 0,
             "replay needs an op-level truth");
  const Config& cfg = weights.config;
  const int T = static_cast<int>(tokens.size());
  ReplayReference ref;
  ref.tokens = tokens;
  ref.mask = mask;
  for (const ReplayOpId& id : only.empty() ? replay_ops(cfg.n_layer) : only) {
    ReplayCase c;
    c.id = id;
    c.width = tensor_width(id.output().kind, cfg);
    set_inputs(c, truth);
    ref.ops.push_back(std::move(c));
  }
  const reference::Parallel parallel(threads);
  // The truth: the 50-digit op on the float32 inputs.
  for (ReplayCase& c : ref.ops)
    c.truth = evaluate<reference::Real50>(c, weights, tokens, mask, parallel);

  // The ensemble on the same inputs (oracle/ensemble.h): per op, every
  // member's max error.
  std::vector<std::vector<double>> errors(ref.ops.size());
  for (size_t i = 0; i < ref.ops.size(); ++i)
    errors[i].push_back(
        max_error(evaluate<float>(ref.ops[i], weights, tokens, mask, parallel), ref.ops[i].truth));
  auto stochastic_run = [&](int run) {
    StochasticFloat::Session session(mix64(seed + run));
    for (size_t i = 0; i < ref.ops.size(); ++i)
      errors[i].push_back(
          max_error(evaluate<StochasticFloat>(ref.ops[i], weights, tokens, mask, parallel),
                    ref.ops[i].truth));
  };
  int runs = 0;
  while (runs < kStochasticRuns) stochastic_run(runs++);
  auto spread = [&] {  // largest over median of the stochastic runs, over ops
    double widest = 1;
    for (const auto& e : errors) {
      std::vector<double> s(e.begin() + 1, e.begin() + 1 + runs);
      std::sort(s.begin(), s.end());
      if (s.back() > 0)
        widest = std::max(widest, s[s.size() / 2] > 0 ? s.back() / s[s.size() / 2] : INFINITY);
    }
    return widest;
  };
  if (spread() > kWideSpread)
    while (runs < kWideStochasticRuns) stochastic_run(runs++);
  ref.stochastic_runs = runs;
  const std::vector<Pass> one_prefill = {{0, T, mask, false}};
  for (const auto& [name, order] : ensemble_orders(seed)) {
    const optimized::KernelSet set = ordered_kernel_set(name, order);
    optimized::ThreadPool pool(1);
    const std::unique_ptr<optimized::Kernels> k = set.create(weights, pool);
    optimized::KvCache cache(cfg);
    for (size_t i = 0; i < ref.ops.size(); ++i)
      errors[i].push_back(max_error(
          widen(run_kernel_op(*k, cache, ref.ops[i], one_prefill, tokens)), ref.ops[i].truth));
  }
  for (size_t i = 0; i < ref.ops.size(); ++i) {
    const auto [smallest, worst] = std::minmax_element(errors[i].begin(), errors[i].end());
    ref.ops[i].budget = make_budget(*worst, *smallest, op_term_scale(ref.ops[i], weights, T, mask));
  }
  return ref;
}

// ---- judging -------------------------------------------------------------------

bool ReplayResult::passed() const {
  return failure.empty() &&
         std::none_of(ops.begin(), ops.end(), [](const ReplayOpResult& o) { return o.beyond; });
}

double ReplayResult::worst_ratio() const {
  double worst = 0;
  for (const auto& o : ops) worst = std::max(worst, o.ratio);
  return worst;
}

namespace {
std::string ratio_text(double r) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", r);
  return text;
}
}  // namespace

std::string ReplayResult::summary() const {
  if (!failure.empty()) {
    const bool beyond =
        std::any_of(ops.begin(), ops.end(), [](const ReplayOpResult& o) { return o.beyond; });
    if (!beyond) return failure;
    ReplayResult judged = *this;
    judged.failure.clear();
    return judged.summary() + "; then " + failure;
  }
  if (passed()) {
    const ReplayOpResult* worst = nullptr;
    for (const auto& o : ops)
      if (!worst || o.ratio > worst->ratio) worst = &o;
    if (!worst) return "no op replayed";
    return "every op within budget (worst ratio " + ratio_text(worst->ratio) + " at " +
           (worst->id.layer >= 0 ? "block." + std::to_string(worst->id.layer) + " " : "") +
           worst->id.name() + ")";
  }
  // One clause per op beyond budget, its layers listed.
  std::string out;
  std::vector<std::string> seen;
  for (const auto& o : ops) {
    if (!o.beyond || std::find(seen.begin(), seen.end(), o.id.name()) != seen.end()) continue;
    seen.push_back(o.id.name());
    std::string layers;
    const ReplayOpResult* worst = nullptr;
    for (const auto& p : ops)
      if (p.beyond && p.id.op == o.id.op) {
        if (p.id.layer >= 0) layers += (layers.empty() ? "" : ",") + std::to_string(p.id.layer);
        if (!worst || p.ratio > worst->ratio) worst = &p;
      }
    out += (out.empty() ? "" : "; ") + o.id.name() + " beyond budget" +
           (layers.empty() ? "" : " in blocks " + layers) + " (worst ratio " +
           (std::isfinite(worst->ratio) ? ratio_text(worst->ratio) : "inf: non-finite") +
           (worst->id.layer >= 0 ? " at block." + std::to_string(worst->id.layer) : "") + ")";
  }
  return out;
}

ReplayResult replay(const Weights<float>& weights, const optimized::KernelSet& set,
                    const ReplayReference& ref, const std::vector<Pass>& passes,
                    const std::vector<int>& rows) {
  const int T = static_cast<int>(ref.tokens.size());
  optimized::ThreadPool pool(1);
  ReplayResult result;
  // A set that fails to run (optimized::KernelSetFailure: a plugin crashed
  // or hung) ends the replay: the ops judged so far stand, with the failure.
  std::unique_ptr<optimized::Kernels> k;
  try {
    k = set.create(weights, pool);
  } catch (const optimized::KernelSetFailure& e) {
    result.failure = e.what();
    result.hung = e.hung();
    return result;
  }
  optimized::KvCache cache(weights.config);
  for (const ReplayCase& c : ref.ops) {
    Vector value;
    try {
      value = widen(run_kernel_op(*k, cache, c, passes, ref.tokens));
    } catch (const optimized::KernelSetFailure& e) {
      result.failure = e.what();
      result.hung = e.hung();
      return result;
    }
    // The rows judged.
    std::vector<int> judged = rows;
    if (judged.empty())
      for (int t = 0; t < T; ++t) judged.push_back(t);
    Vector v, t;
    for (int r : judged) {
      GPT2_CHECK(r >= 0 && r < T, "replay: a row outside the tokens");
      v.insert(v.end(), value.begin() + size_t(r) * c.width,
               value.begin() + size_t(r + 1) * c.width);
      t.insert(t.end(), c.truth.begin() + size_t(r) * c.width,
               c.truth.begin() + size_t(r + 1) * c.width);
    }
    ReplayOpResult o;
    o.id = c.id;
    o.budget = c.budget;
    o.metrics = compare_tensors(v, t);
    const double limit = o.budget.limit();
    o.ratio = o.metrics.first_non_finite >= 0 ? std::numeric_limits<double>::infinity()
              : limit > 0                     ? o.metrics.max_abs_error / limit
              : o.metrics.max_abs_error > 0   ? std::numeric_limits<double>::infinity()
                                              : 0.0;
    for (size_t i = 0; i < judged.size(); ++i) {
      std::vector<int> columns;  // beyond budget (or non-finite where the truth is finite)
      for (int col = 0; col < c.width; ++col) {
        const size_t e = i * c.width + col;
        if (!std::isfinite(v[e]) ? std::isfinite(t[e]) : std::abs(v[e] - t[e]) > limit)
          columns.push_back(col);
      }
      if (columns.empty()) continue;
      if (o.failing_positions.empty()) {
        o.first_failing_position = judged[i];
        o.failing_columns = columns;
      }
      o.failing_positions.push_back(judged[i]);
    }
    o.beyond = !o.failing_positions.empty();
    result.ops.push_back(std::move(o));
  }
  return result;
}

void shrink_replay(ReplayResult& result, const Weights<float>& weights,
                   const optimized::KernelSet& set, const ReplayReference& ref,
                   const ReplaySource& source) {
  const int T = static_cast<int>(ref.tokens.size());
  for (ReplayOpResult& o : result.ops) {
    if (!o.beyond) continue;
    for (int n = 1; n <= T; ++n) {
      const std::vector<int> prefix(ref.tokens.begin(), ref.tokens.begin() + n);
      // The scenario's chunks, clipped to the prefix.
      std::vector<int> chunks;
      for (int chunk : source.chunks) {
        const int done = std::accumulate(chunks.begin(), chunks.end(), 0);
        if (done >= n) break;
        chunks.push_back(std::min(chunk, n - done));
      }
      const ReplayReference small = compute_replay_reference(
          *source.truth_weights, prefix, ref.mask, source.truth_of(prefix), source.seed, {o.id});
      const ReplayResult r = replay(weights, set, small, scenario_passes(n, chunks, ref.mask));
      if (!r.ops.front().beyond) continue;
      std::string rows;
      for (int p : r.ops.front().failing_positions)
        rows += (rows.empty() ? "" : ",") + std::to_string(p);
      std::string chunk_text;
      for (int c : chunks) chunk_text += (chunk_text.empty() ? "" : ",") + std::to_string(c);
      o.reproduce =
          "gpt2-oracle replay " + source.model_flags + " --kernel " + source.kernel + " --tokens " +
          format_tokens(prefix) + (ref.mask == Mask::none ? " --mask none" : "") +
          (chunks == std::vector<int>{n} ? "" : " --chunks " + chunk_text) + " --op " +
          o.id.cli_name() + (o.id.layer >= 0 ? " --layer " + std::to_string(o.id.layer) : "") +
          " --rows " + rows;
      break;
    }
  }
}

}  // namespace gpt2::oracle
