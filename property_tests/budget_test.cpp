// Claim 11: the optimized engine's error against the 50-digit truth stays
// within the oracle's budget (oracle/tolerance.h) on random models, in every
// kernel set, with and without the causal mask, op by op (the op-level
// trace), and every op replayed alone on the truth's inputs stays within its
// own budget (oracle/replay.h). The budget is the rule; no tolerance is
// chosen here.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "oracle/replay.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

RC_GTEST_PROP(Budget, EngineWithinTheOraclesBudgetOfTheTruth, ()) {
  const ModelCase m = *gen_model_case();
  const Mask mask = *rc::gen::element(Mask::causal, Mask::none);
  const Weights<float> weights = m.weights();

  Truths truths(weights, m.tokens, mask, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const std::string finding =
        budget_finding("kernel " + set->name + ", full, mask " + mask_name(mask),
                       optimized::run_trace(weights, m.tokens, set->name, Mode::full, 0, mask,
                                            kThreads, TraceLevel::ops),
                       truths.of(*set), mask);
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

RC_GTEST_PROP(Budget, EveryOpReplayedAloneIsWithinItsOwnBudget, ()) {
  const ModelCase m = *gen_model_case();
  const int T = static_cast<int>(m.tokens.size());
  // A prefill of the first chunk, then decode: every pass structure of the engine.
  const int prefill = *rc::gen::inRange(1, T + 1);
  const Weights<float> weights = m.weights();
  Truths truths(weights, m.tokens, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const Weights<float> used = set->weights_used(weights);
    const oracle::ReplayReference ref = oracle::compute_replay_reference(
        used, m.tokens, Mask::causal, truths.of(*set).truth, m.weight_seed);
    const oracle::ReplayResult r =
        oracle::replay(weights, *set, ref, oracle::scenario_passes(T, {prefill}, Mask::causal));
    if (!r.passed())
      RC_FAIL(failure(m, "kernel " + set->name + ", prefill of " + std::to_string(prefill) +
                             " then decode: replay " + r.summary()));
  }
}

}  // namespace
}  // namespace gpt2::properties
