// Instantiates the reference at StochasticFloat: the one place outside
// reference/ that compiles the reference's templates.
#include "oracle/baseline.h"

#include <algorithm>
#include <cmath>

#include "model/error.h"
#include "model/init.h"
#include "oracle/compare.h"
#include "oracle/stochastic_float.h"
#include "oracle/tolerance.h"
#include "reference/forward_impl.h"
#include "reference/parallel.h"
#include "reference/reference.h"

namespace gpt2::reference {
template Trace<oracle::StochasticFloat> forward(const Weights<oracle::StochasticFloat>&,
                                                const std::vector<int>&, const Options&);
}  // namespace gpt2::reference

namespace gpt2::oracle {

Trace<double> stochastic_float32_run(const Weights<float>& weights,
                                     const std::vector<int>& tokens, Mask mask, uint64_t seed,
                                     int threads) {
  const Weights<StochasticFloat> w = convert_weights<StochasticFloat>(weights);
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  StochasticFloat::Session session(seed);
  const Trace<StochasticFloat> t = reference::forward(w, tokens, options);
  return convert_trace<double>(t);
}

std::vector<double> term_scales(const Trace<double>& truth, const Weights<float>& weights) {
  auto max_abs = [](const std::vector<double>& v) {
    double m = 0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
  };
  std::vector<double> out = {max_abs(truth.embed)};
  const std::vector<double>* input = &truth.embed;
  for (const auto& block : truth.block) {
    // The residual sum x_out = x_in + attention + MLP: |x_in| + |x_out - x_in|.
    double m = 0;
    for (size_t e = 0; e < block.size(); ++e)
      m = std::max(m, std::abs((*input)[e]) + std::abs(block[e] - (*input)[e]));
    out.push_back(m);
    input = &block;
  }
  out.push_back(max_abs(truth.ln_f));
  // logits[t][v] = Σ_c ln_f[t][c]·wte[v][c]: Σ_c |ln_f[t][c]·wte[v][c]|.
  const int T = truth.n_tokens, C = truth.n_embd, V = truth.vocab_size;
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

namespace {

// Random directions per block for its error gain (see block_gains).
constexpr int kGainDirections = 3;

// The gain with which a small error in a block's input reaches its output,
// measured at the truth in double: max over kGainDirections random sign
// vectors s of |block(x + h·s) - block(x)|∞ / h, with h = 2^-20·max|x| (far
// above double's rounding, far below any nonlinearity's scale). A kernel's
// rounding errors are such scattered perturbations, not adversarial ones.
std::vector<double> block_gains(const Weights<float>& weights, const Trace<double>& truth,
                                Mask mask, uint64_t seed) {
  const Weights<double> w = convert_weights<double>(weights);
  const reference::Parallel serial(1);
  const int T = truth.n_tokens;
  std::vector<double> gains;
  const std::vector<double>* input = &truth.embed;
  for (size_t l = 0; l < truth.block.size(); ++l) {
    double scale = 0;
    for (double v : *input) scale = std::max(scale, std::abs(v));
    const double h = std::ldexp(std::max(scale, 1e-30), -20);
    std::vector<double> base = *input;
    reference::detail::block_forward<double>(base, w.blocks[l], w.config, T, 0, nullptr, mask, serial);
    double gain = 0;
    for (int d = 0; d < kGainDirections; ++d) {
      std::vector<double> moved = *input;
      for (size_t e = 0; e < moved.size(); ++e)
        moved[e] += (mix64(seed + 1000003 * (l * kGainDirections + d) + e) >> 63) ? h : -h;
      reference::detail::block_forward<double>(moved, w.blocks[l], w.config, T, 0, nullptr, mask,
                                       serial);
      for (size_t e = 0; e < moved.size(); ++e)
        gain = std::max(gain, std::abs(moved[e] - base[e]) / h);
    }
    gains.push_back(gain);
    input = &truth.block[l];
  }
  return gains;
}

}  // namespace

std::vector<Budget> make_budgets(const std::vector<double>& baseline_errors,
                                 const Trace<double>& truth, const Weights<float>& weights,
                                 Mask mask, uint64_t seed) {
  const std::vector<double> scales = term_scales(truth, weights);
  GPT2_CHECK(baseline_errors.size() == scales.size(), "make_budgets: one error per tensor");
  std::vector<Budget> out;
  for (size_t i = 0; i < scales.size(); ++i) out.push_back(make_budget(baseline_errors[i], scales[i]));
  const size_t n = out.size(), ln_f = n - 2, logits = n - 1;
  const int T = truth.n_tokens, C = truth.n_embd, V = truth.vocab_size;

  // block.l: its gain measured at the truth.
  const std::vector<double> gains = block_gains(weights, truth, mask, seed);
  for (size_t l = 0; l < gains.size(); ++l) out[l + 1].gain = gains[l];

  // ln_f: max over rows of max_c |g_c|·(2 + |x̂_c|)/σ, x the last block's row.
  const std::vector<double>& x = truth.block.empty() ? truth.embed : truth.block.back();
  double ln_gain = 0;
  for (int t = 0; t < T; ++t) {
    const double* row = &x[size_t(t) * C];
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) mean += row[c];
    mean /= C;
    for (int c = 0; c < C; ++c) var += (row[c] - mean) * (row[c] - mean);
    var /= C;
    const double sigma = std::sqrt(var + weights.config.layer_norm_epsilon);
    for (int c = 0; c < C; ++c) {
      const double normalised = std::abs(row[c] - mean) / sigma;
      ln_gain = std::max(ln_gain, std::abs(double(weights.ln_f_weight[c])) * (2 + normalised) / sigma);
    }
  }
  out[ln_f].gain = ln_gain;

  // logits: max_v Σ_c |wte[v][c]|.
  double logit_gain = 0;
  for (int v = 0; v < V; ++v) {
    double sum = 0;
    for (int c = 0; c < C; ++c) sum += std::abs(double(weights.wte[size_t(v) * C + c]));
    logit_gain = std::max(logit_gain, sum);
  }
  out[logits].gain = logit_gain;
  return out;
}

Reference compute_reference(const Weights<float>& weights, const std::vector<int>& tokens,
                            Mask mask, uint64_t seed, int threads) {
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  Reference r;
  r.truth = reference::run(weights, tokens, reference::Precision::digits50, options);
  r.float32_errors =
      max_errors(reference::run(weights, tokens, reference::Precision::f32, options), r.truth);
  r.baseline_errors = r.float32_errors;
  for (int run = 0; run < kStochasticRuns; ++run) {
    const auto e = max_errors(
        stochastic_float32_run(weights, tokens, mask, mix64(seed + run), threads), r.truth);
    for (size_t i = 0; i < e.size(); ++i)
      r.baseline_errors[i] = std::max(r.baseline_errors[i], e[i]);
  }
  r.budgets = make_budgets(r.baseline_errors, r.truth, weights, mask, seed);
  return r;
}

}  // namespace gpt2::oracle
