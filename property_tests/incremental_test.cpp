// Claim 1: cached incremental decoding equals full causal recomputation, at
// every position and in every tensor: in the reference at 50 digits to at
// least kMinAgreeingDigits significant digits, and in every kernel set of the
// engine within the oracle's budget of the 50-digit truth.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

RC_GTEST_PROP(IncrementalDecoding, MatchesFullCausalRecompute, ()) {
  const ModelCase m = *gen_model_case();
  const Weights<float> weights = m.weights();

  const Trace50 full = reference50(weights, m.tokens, Mask::causal, Mode::full);
  const Trace50 incremental = reference50(weights, m.tokens, Mask::causal, Mode::incremental);
  const std::string digits = digits_difference("reference incremental", incremental,
                                               "reference full", full, kMinAgreeingDigits);
  if (!digits.empty()) RC_FAIL(failure(m, digits));

  Truths truths(weights, m.tokens, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const Trace<double> trace = optimized::run_trace(weights, m.tokens, set->name,
                                                     Mode::incremental, 0, Mask::causal, kThreads);
    const std::string finding = budget_finding("kernel " + set->name + ", incremental", trace,
                                               truths.of(*set), Mask::causal);
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

}  // namespace
}  // namespace gpt2::properties
