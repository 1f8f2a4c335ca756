// The mask ablation's numbers: the two reference passes compared tensor by
// tensor, and the decode part on the engine. Its reports are in
// mask_ablation_report.cpp.
#include "oracle/mask_ablation.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <type_traits>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/tokens.h"
#include "optimized/engine.h"
#include "oracle/metrics.h"
#include "oracle/truth_cache.h"
#include "reference/forward.h"

namespace gpt2::oracle {

// ---- the measure ------------------------------------------------------------

template <class Real>
double relative_difference(const Real* a, const Real* b, int n) {
  // Bit-identity is decided at Real, before anything is rounded to double.
  bool identical = true;
  std::vector<double> d(n), x(n), y(n);
  double max_d = 0, max_xy = 0;
  for (int i = 0; i < n; ++i) {
    if (a[i] != b[i]) identical = false;
    const Real difference = a[i] - b[i];  // at Real: a tiny difference keeps its digits
    d[i] = static_cast<double>(difference);
    x[i] = static_cast<double>(a[i]);
    y[i] = static_cast<double>(b[i]);
    max_d = std::max(max_d, std::abs(d[i]));
    max_xy = std::max({max_xy, std::abs(x[i]), std::abs(y[i])});
  }
  if (identical) return 0;
  constexpr double kSmallest = std::numeric_limits<double>::denorm_min();
  if (max_d == 0 || max_xy == 0) return kSmallest;  // differs beyond double's range
  // Norms scaled by the largest element, so that no square under- or overflows.
  double dd = 0, xx = 0, yy = 0;
  for (int i = 0; i < n; ++i) {
    dd += (d[i] / max_d) * (d[i] / max_d);
    xx += (x[i] / max_xy) * (x[i] / max_xy);
    yy += (y[i] / max_xy) * (y[i] / max_xy);
  }
  const double r = (max_d / max_xy) * std::sqrt(dd) / std::sqrt(std::max(xx, yy));
  return r > 0 ? r : kSmallest;
}

template double relative_difference(const float*, const float*, int);
template double relative_difference(const double*, const double*, int);
template double relative_difference(const reference::Real50*, const reference::Real50*, int);
template double relative_difference(const reference::Real100*, const reference::Real100*, int);

namespace {

// ---- the two reference passes -----------------------------------------------

template <class Real>
void reference_passes(const Weights<float>& weights, const std::vector<int>& tokens,
                      const MaskAblationOptions& options, MaskAblation& out) {
  reference::Options causal;
  causal.mask = Mask::causal;
  causal.threads = options.threads;
  causal.progress = options.progress;
  reference::Options none = causal;
  none.mask = Mask::none;
  const Trace<Real> a = reference::forward<Real>(weights, tokens, causal);
  const Trace<Real> b = reference::forward<Real>(weights, tokens, none);
  compare_ablation_traces(a, b, out.rows, out.next_tokens);
}

}  // namespace

template <class Real>
void compare_ablation_traces(const Trace<Real>& a, const Trace<Real>& b,
                             std::vector<MaskAblationRow>& rows,
                             std::vector<NextTokenChange>& next_tokens) {
  std::vector<const std::vector<Real>*> unmasked;
  for_each_trace_tensor(b, [&](const std::string&, const std::vector<Real>& t, const Shape&) {
    unmasked.push_back(&t);
  });
  size_t i = 0;
  const int T = a.n_tokens;
  for_each_trace_tensor(a, [&](const std::string& name, const std::vector<Real>& t,
                               const Shape& shape) {
    const std::vector<Real>& u = *unmasked[i++];
    const int width = static_cast<int>(shape[1]);  // C, or V for the logits
    MaskAblationRow row{name, {}};
    for (int p = 0; p < T; ++p) {
      const size_t at = static_cast<size_t>(p) * width;
      row.relative_difference.push_back(relative_difference(t.data() + at, u.data() + at, width));
    }
    rows.push_back(std::move(row));
  });

  std::vector<double> la(a.logits.size()), lb(b.logits.size());
  for (size_t j = 0; j < la.size(); ++j) la[j] = static_cast<double>(a.logits[j]);
  for (size_t j = 0; j < lb.size(); ++j) lb[j] = static_cast<double>(b.logits[j]);
  for (const LogitPositionMetrics& m : compare_logits(lb, la, a.vocab_size))
    next_tokens.push_back({m.truth_argmax, m.value_argmax, m.kl_divergence});
}

template void compare_ablation_traces(const Trace<float>&, const Trace<float>&,
                                      std::vector<MaskAblationRow>&, std::vector<NextTokenChange>&);
template void compare_ablation_traces(const Trace<double>&, const Trace<double>&,
                                      std::vector<MaskAblationRow>&, std::vector<NextTokenChange>&);
template void compare_ablation_traces(const Trace<reference::Real50>&,
                                      const Trace<reference::Real50>&,
                                      std::vector<MaskAblationRow>&, std::vector<NextTokenChange>&);
template void compare_ablation_traces(const Trace<reference::Real100>&,
                                      const Trace<reference::Real100>&,
                                      std::vector<MaskAblationRow>&, std::vector<NextTokenChange>&);

NextTokenChange next_token_change(const std::vector<float>& with_mask,
                                  const std::vector<float>& without_mask) {
  const std::vector<double> a(with_mask.begin(), with_mask.end());
  const std::vector<double> b(without_mask.begin(), without_mask.end());
  const LogitPositionMetrics m = compare_logits(b, a, static_cast<int>(a.size())).at(0);
  return {m.truth_argmax, m.value_argmax, m.kl_divergence};
}

namespace {

// ---- the decode part, on the engine -----------------------------------------

int argmax(const std::vector<float>& v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

DecodeAblation decode_part(const Weights<float>& weights, const std::vector<int>& prompt,
                           const MaskAblationOptions& options) {
  using optimized::Engine;
  using optimized::Logits;
  const optimized::KernelSet& set = optimized::find_kernel(options.kernel);
  Engine engine(weights, set, options.threads);
  DecodeAblation out;
  out.implementation = "optimized engine, kernel " + set.name + ", float32";
  out.room = weights.config.n_ctx - static_cast<int>(prompt.size());
  const int n = std::max(0, std::min(options.decode_steps, out.room));
  auto copy = [](std::span<const float> s) { return std::vector<float>(s.begin(), s.end()); };

  // With the mask: prefill, then greedy decoding against the cache.
  std::vector<std::vector<float>> masked;  // [1 + n][V]
  engine.reset();
  masked.push_back(copy(engine.prefill(prompt, Mask::causal, Logits::last)));
  for (int k = 0; k < n; ++k) {
    out.continuation.push_back(argmax(masked.back()));
    masked.push_back(copy(engine.decode(out.continuation.back())));
  }
  // Without the mask in the prefill, then the same tokens decoded.
  std::vector<std::vector<float>> unmasked;
  engine.reset();
  unmasked.push_back(copy(engine.prefill(prompt, Mask::none, Logits::last)));
  for (int token : out.continuation) unmasked.push_back(copy(engine.decode(token)));

  // One decode step is a one-query pass: run each as such (a one-token
  // prefill, since Engine::decode takes no mask) on the causal cache, once
  // with Mask::causal and once with Mask::none.
  std::vector<std::vector<float>> one_query[2];
  for (int m = 0; m < 2; ++m) {
    engine.reset();
    engine.prefill(prompt, Mask::causal, Logits::none);
    for (int token : out.continuation) {
      const int single[1] = {token};
      one_query[m].push_back(
          copy(engine.prefill(single, m == 0 ? Mask::causal : Mask::none, Logits::last)));
    }
  }

  for (int k = 0; k <= n; ++k) {
    DecodeStep step;
    step.token = k == 0 ? -1 : out.continuation[k - 1];
    step.relative_difference = relative_difference(masked[k].data(), unmasked[k].data(),
                                                   static_cast<int>(masked[k].size()));
    step.next_token = next_token_change(masked[k], unmasked[k]);
    if (k > 0) step.one_query_pass_identical = one_query[0][k - 1] == one_query[1][k - 1];
    out.steps.push_back(step);
  }
  return out;
}

}  // namespace

// ---- running ----------------------------------------------------------------

MaskAblation run_mask_ablation(const Weights<float>& weights, const std::vector<int>& tokens,
                               const std::string& model, const MaskAblationOptions& options) {
  validate_tokens(tokens, weights.config, "tokens");
  optimized::find_kernel(options.kernel);  // an unknown name fails now, not after the reference
  MaskAblation out;
  out.model = model;
  out.tokens = tokens;
  out.precision = options.precision;
  static const TruthCache no_cache;
  const TruthCache& cache = options.truth_cache ? *options.truth_cache : no_cache;
  TruthKey k;
  k.kind = "mask-ablation";
  k.weights = cache.enabled() ? weights_sha256(weights) : "";
  k.config = weights.config;
  k.tokens = tokens;
  k.precision = reference::precision_name(options.precision);
  k.level = TraceLevel::blocks;
  k.extra = "causal against none";
  const std::string key = k.key();
  const std::vector<std::string> names =
      trace_tensor_names(weights.config.n_layer, TraceLevel::blocks);
  const int T = static_cast<int>(tokens.size());
  struct Passes {
    std::vector<MaskAblationRow> rows;
    std::vector<NextTokenChange> next_tokens;
  };
  const Passes passes = cache.fetch<Passes>(
      "mask-ablation", key,
      "the mask ablation of " + model + ", T=" + std::to_string(T) + ", at " +
          reference::precision_name(options.precision),
      [&](const CacheEntry& e) {
        const std::string source = "truth cache entry " + key;
        Passes p;
        for (const std::string& name : names)
          p.rows.push_back({name, e.array("row." + name, T, source)});
        const auto& a = e.array("next.argmax_causal", T, source);
        const auto& b = e.array("next.argmax_none", T, source);
        const auto& kl = e.array("next.kl_divergence", T, source);
        for (int t = 0; t < T; ++t) {
          for (double id : {a[t], b[t]})
            if (!(id >= 0 && id < weights.config.vocab_size) || id != std::floor(id))
              throw InputError(source + ": a token id out of range");
          p.next_tokens.push_back({int(a[t]), int(b[t]), kl[t]});
        }
        return p;
      },
      [&] {
        MaskAblation m;
        switch (options.precision) {
          case reference::Precision::f32:
            reference_passes<float>(weights, tokens, options, m);
            break;
          case reference::Precision::f64:
            reference_passes<double>(weights, tokens, options, m);
            break;
          case reference::Precision::digits50:
            reference_passes<reference::Real50>(weights, tokens, options, m);
            break;
          case reference::Precision::digits100:
            reference_passes<reference::Real100>(weights, tokens, options, m);
            break;
          case reference::Precision::dd:
            reference_passes<reference::DoubleDouble>(weights, tokens, options, m);
            break;
        }
        return Passes{m.rows, m.next_tokens};
      },
      [&](const Passes& p) {
        CacheEntry e;
        for (const MaskAblationRow& row : p.rows)
          e.arrays.emplace_back("row." + row.tensor, row.relative_difference);
        std::vector<double> a, b, kl;
        for (const NextTokenChange& n : p.next_tokens) {
          a.push_back(n.argmax_causal);
          b.push_back(n.argmax_none);
          kl.push_back(n.kl_divergence);
        }
        e.arrays.emplace_back("next.argmax_causal", a);
        e.arrays.emplace_back("next.argmax_none", b);
        e.arrays.emplace_back("next.kl_divergence", kl);
        return e;
      });
  out.rows = passes.rows;
  out.next_tokens = passes.next_tokens;
  out.decode = decode_part(weights, tokens, options);
  return out;
}

}  // namespace gpt2::oracle
