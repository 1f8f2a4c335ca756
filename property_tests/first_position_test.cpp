// Claim 7: position 0 of any sequence equals the single-token run of its
// first token: bit-identical in the reference at 50 digits, and within the
// oracle's budget of the single token's truth in every kernel set.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

RC_GTEST_PROP(FirstPosition, EqualsTheSingleTokenRun, ()) {
  const ModelCase m = *gen_model_case();
  const std::vector<int> first = {m.tokens.front()};
  const Weights<float> weights = m.weights();

  const std::string finding =
      bit_difference("reference(first token)", reference50(weights, first, Mask::causal),
                     "position 0 of reference(tokens)",
                     rows_of(reference50(weights, m.tokens, Mask::causal), 0, 1));
  if (!finding.empty()) RC_FAIL(failure(m, finding));

  Truths truths(weights, first, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const Trace<double> trace =
        optimized::run_trace(weights, m.tokens, set->name, Mode::full, 0, Mask::causal, kThreads);
    const std::string engine = budget_finding(
        "kernel " + set->name + ", position 0 of the prefill against the single token's truth",
        rows_of(trace, 0, 1), truths.of(*set), Mask::causal);
    if (!engine.empty()) RC_FAIL(failure(m, engine));
  }
}

}  // namespace
}  // namespace gpt2::properties
