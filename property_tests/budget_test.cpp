// Claim 11: the optimized engine's error against the 50-digit truth stays
// within the oracle's budget (oracle/tolerance.h: K·E_baseline + floor) on
// random models, in every kernel set, with and without the causal mask. The
// budget is the rule; no tolerance is chosen here.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

RC_GTEST_PROP(Budget, EngineWithinTheOraclesBudgetOfTheTruth, ()) {
  const ModelCase m = *gen_model_case();
  const Mask mask = *rc::gen::element(Mask::causal, Mask::none);
  const Weights<float> weights = m.weights();

  Truths truths(weights, m.tokens, mask, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const std::string finding = budget_finding(
        "kernel " + set->name + ", full, mask " + mask_name(mask),
        optimized::run_trace(weights, m.tokens, set->name, Mode::full, 0, mask, kThreads),
        truths.of(*set), mask);
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

}  // namespace
}  // namespace gpt2::properties
