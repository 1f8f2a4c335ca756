// Claim 5: a decode step is indifferent to the mask. One query over the cache
// has no future keys, so applying or not applying the causal mask to it gives
// bit-identical output:
//   * in the reference's incremental mode, at 50 digits (Options::mask
//     causal vs none, every position a one-query step);
//   * in every kernel set: after a causal prefill of all tokens but the last,
//     the last token run as a one-token pass with Mask::causal and with
//     Mask::none (Engine::decode itself always passes Mask::causal).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <span>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

// The trace of: causal prefill of tokens[0 .. T-2], then tokens[T-1] as one
// pass with `last_mask`. Only the last row is of interest.
Trace<double> last_step(const Weights<float>& weights, const std::vector<int>& tokens,
                        const optimized::KernelSet& set, Mask last_mask) {
  optimized::Engine engine(weights, set, kThreads);
  const int T = static_cast<int>(tokens.size());
  Trace<double> trace = make_trace<double>(weights.config, T);
  engine.set_capture(&trace);
  const std::span<const int> all(tokens);
  if (T > 1) engine.prefill(all.first(T - 1), Mask::causal, optimized::Logits::none);
  engine.prefill(all.last(1), last_mask, optimized::Logits::last);
  return rows_of(trace, T - 1, 1);
}

RC_GTEST_PROP(DecodeStep, IsIndifferentToTheMask, ()) {
  const ModelCase m = *gen_model_case();
  const Weights<float> weights = m.weights();

  std::string finding =
      bit_difference("reference incremental masked",
                     reference50(weights, m.tokens, Mask::causal, Mode::incremental), "unmasked",
                     reference50(weights, m.tokens, Mask::none, Mode::incremental));
  if (!finding.empty()) RC_FAIL(failure(m, finding));

  for (const optimized::KernelSet* set : kernel_sets()) {
    finding = bit_difference("kernel " + set->name + ", last step masked",
                             last_step(weights, m.tokens, *set, Mask::causal), "unmasked",
                             last_step(weights, m.tokens, *set, Mask::none));
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

}  // namespace
}  // namespace gpt2::properties
