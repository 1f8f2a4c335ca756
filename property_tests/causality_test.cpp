// Claim 3: causality. Appending tokens never changes any tensor at an earlier
// position: bit-identical in the reference at 50 digits (the earlier rows are
// the same arithmetic on the same inputs), and within the oracle's budget of
// the shorter sequence's truth in every kernel set of the engine (a kernel
// may block its sums differently for another T).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

RC_GTEST_PROP(Causality, AppendingTokensNeverChangesEarlierPositions, ()) {
  const ModelCase m = *gen_model_case();
  const int T = static_cast<int>(m.tokens.size());
  // The prefix that the other tokens are appended to; shrinks toward 1.
  const int k = *rc::gen::inRange(1, T + 1);
  const std::vector<int> prefix(m.tokens.begin(), m.tokens.begin() + k);
  const Weights<float> weights = m.weights();
  const std::string appended = "the first " + std::to_string(k) + " positions of";

  const std::string reference = bit_difference(
      "reference(prefix)", reference50(weights, prefix, Mask::causal),
      "reference(tokens) " + appended, rows_of(reference50(weights, m.tokens, Mask::causal), 0, k));
  if (!reference.empty())
    RC_FAIL(failure(m, "prefix length " + std::to_string(k) + ": " + reference));

  Truths truths(weights, prefix, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const Trace<double> trace =
        optimized::run_trace(weights, m.tokens, set->name, Mode::full, 0, Mask::causal, kThreads);
    const std::string finding = budget_finding(
        "kernel " + set->name + ", " + appended + " the full prefill against the prefix's truth",
        rows_of(trace, 0, k), truths.of(*set), Mask::causal);
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

}  // namespace
}  // namespace gpt2::properties
