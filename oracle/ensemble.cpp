// Instantiates the reference at StochasticFloat: the one place outside
// reference/ that compiles the reference's forward template.
#include "oracle/ensemble.h"

#include <algorithm>
#include <cmath>

#include "model/init.h"
#include "optimized/engine.h"
#include "optimized/profile_roundings.h"
#include "oracle/compare.h"
#include "oracle/stochastic_float.h"
#include "oracle/tolerance.h"
#include "reference/forward_impl.h"
#include "reference/reference.h"

namespace gpt2::reference {
template Trace<oracle::StochasticFloat> forward(const Weights<float>&, const std::vector<int>&,
                                                const Options&);
}  // namespace gpt2::reference

namespace gpt2::oracle {

std::vector<std::pair<std::string, SummationOrder>> ensemble_orders(uint64_t seed) {
  SummationOrder pairwise;
  pairwise.order = SumOrder::pairwise;
  pairwise.epilogue = Epilogue::sum_residual_bias;

  SummationOrder permuted;
  permuted.order = SumOrder::permuted;
  permuted.seed = mix64(seed ^ 0x5045524d55544544ull);  // "PERMUTED"
  permuted.fma = true;
  permuted.epilogue = Epilogue::bias_first;

  SummationOrder lanes;
  lanes.order = SumOrder::lanes;
  lanes.width = 16;
  lanes.fma = true;
  lanes.epilogue = Epilogue::bias_first;
  lanes.online_softmax = true;
  lanes.scale_queries = true;
  return {{"pairwise", pairwise}, {"permuted-fma", permuted}, {"lanes16-online", lanes}};
}

std::vector<EnsembleMember> ensemble_members() {
  std::vector<EnsembleMember> out = {
      {"reference-f32", "the reference code at float: round to nearest, sums ascending"}};
  for (int run = 0; run < kStochasticRuns; ++run)
    out.push_back({"stochastic-" + std::to_string(run + 1),
                   "the reference code in stochastic-rounding float32"});
  for (const auto& [name, order] : ensemble_orders(0)) out.push_back({name, order.describe()});
  return out;
}

Trace<double> stochastic_float32_run(const Weights<float>& weights, const std::vector<int>& tokens,
                                     Mask mask, uint64_t seed, int threads, TraceLevel level,
                                     const Profile* profile) {
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  options.trace_level = level;
  options.profile = profile;
  StochasticFloat::Session session(seed);
  const Trace<StochasticFloat> t = reference::forward<StochasticFloat>(weights, tokens, options);
  return convert_trace<double>(t);
}

Trace<double> prefill_trace(const Weights<float>& weights, const optimized::KernelSet& set,
                            const std::vector<int>& tokens, Mask mask, TraceLevel level) {
  optimized::Engine engine(weights, set, 1);
  Trace<double> trace = make_trace<double>(weights.config, static_cast<int>(tokens.size()), level);
  engine.set_capture(&trace);
  engine.prefill(tokens, mask, optimized::Logits::none);
  return trace;
}

namespace {

// Over tensors: the largest ratio of the largest to the median error among
// members [first, first + count) (infinite when the median is 0 and the
// largest is not).
double widest_spread(const std::vector<std::vector<double>>& members, size_t first, int count) {
  double widest = 1;
  for (size_t i = 0; i < members[first].size(); ++i) {
    std::vector<double> e;
    e.reserve(count);
    for (int m = 0; m < count; ++m) e.push_back(members[first + m][i]);
    std::sort(e.begin(), e.end());
    const double median = e[e.size() / 2], largest = e.back();
    if (!(largest > 0)) continue;
    widest = std::max(widest, median > 0 ? largest / median : INFINITY);
  }
  return widest;
}

}  // namespace

EnsembleErrors ensemble_errors(const Weights<float>& weights, const std::vector<int>& tokens,
                               Mask mask, uint64_t seed, int threads, const Trace<double>& truth,
                               const Profile& profile) {
  const TraceLevel level = truth.level();
  const Profile* rounds = profile.is_f32() ? nullptr : &profile;
  reference::Options options;
  options.mask = mask;
  options.mode = Mode::full;
  options.threads = threads;
  options.trace_level = level;
  options.profile = rounds;
  EnsembleErrors out;
  out.float32 =
      max_errors(reference::run(weights, tokens, reference::Precision::f32, options), truth);
  out.per_member.push_back(out.float32);
  auto stochastic_run = [&](int run) {
    out.per_member.push_back(max_errors(
        stochastic_float32_run(weights, tokens, mask, mix64(seed + run), threads, level, rounds),
        truth));
  };
  int runs = 0;
  while (runs < kStochasticRuns) stochastic_run(runs++);
  // Runs disagreeing by more than kWideSpread on some tensor: its error is
  // made of a few roundings, its distribution is wide, and the max of
  // kStochasticRuns is not yet a reliable estimate (tolerance.h).
  if (widest_spread(out.per_member, 1, runs) > kWideSpread)
    while (runs < kWideStochasticRuns) stochastic_run(runs++);
  out.stochastic_runs = runs;
  for (const auto& [name, order] : ensemble_orders(seed)) {
    const optimized::KernelSet set = ordered_kernel_set(name, order);
    out.per_member.push_back(max_errors(
        prefill_trace(weights, rounds ? optimized::with_profile(set, profile, name) : set, tokens,
                      mask, level),
        truth));
  }
  out.worst = out.shared = out.float32;
  for (const auto& member : out.per_member)
    for (size_t i = 0; i < member.size(); ++i) {
      out.worst[i] = std::max(out.worst[i], member[i]);
      out.shared[i] = std::min(out.shared[i], member[i]);
    }
  return out;
}

}  // namespace gpt2::oracle
