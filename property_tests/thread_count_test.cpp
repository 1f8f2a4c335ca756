// Claim 9: thread-count invariance. 1 and 2 threads give bit-identical traces
// in the reference (at 50 digits, where its loops are heavy enough to be
// split: reference/parallel.h splits a loop only when each thread gets
// kMinNanosecondsPerThread of work) and in every kernel set, in full and in
// incremental mode.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

Trace50 reference_with_threads(const Weights<float>& weights, const std::vector<int>& tokens,
                               int threads) {
  reference::Options options;
  options.threads = threads;
  return reference::forward<Real50>(weights, tokens, options);
}

RC_GTEST_PROP(ThreadCount, OneAndTwoThreadsGiveBitIdenticalTraces, ()) {
  const ModelCase m = *gen_model_case();
  const Weights<float> weights = m.weights();

  std::string finding =
      bit_difference("reference, 1 thread", reference_with_threads(weights, m.tokens, 1),
                     "2 threads", reference_with_threads(weights, m.tokens, 2));
  if (!finding.empty()) RC_FAIL(failure(m, finding));

  for (const optimized::KernelSet* set : kernel_sets())
    for (Mode mode : {Mode::full, Mode::incremental}) {
      const std::string what = "kernel " + set->name + ", " + mode_name(mode) + ", 1 thread";
      finding = bit_difference(
          what, optimized::run_trace(weights, m.tokens, set->name, mode, 0, Mask::causal, 1),
          "2 threads",
          optimized::run_trace(weights, m.tokens, set->name, mode, 0, Mask::causal, 2));
      if (!finding.empty()) RC_FAIL(failure(m, finding));
    }
}

}  // namespace
}  // namespace gpt2::properties
