// Claim 2: chunked prefill with any split equals one prefill, in every kernel
// set: both are within the oracle's budget of the 50-digit causal truth.
//
// A chunk's queries have fewer rows than the keys they see (the cache holds
// the earlier chunks): the causal mask must be aligned to absolute positions
// (the query at position p sees keys 0 .. p), not to rows of the chunk. A
// top-left-aligned mask (query row t sees keys 0 .. t) passes every one-chunk
// prefill and fails here as soon as a later chunk exists.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <span>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

// A split of T tokens into chunks: lengths, summing to T.
// cut_after[i]: a chunk ends after token i (i < T - 1). Shrinks toward no
// cuts (one prefill).
std::vector<int> chunk_lengths(const std::vector<bool>& cut_after, int T) {
  std::vector<int> lengths;
  int start = 0;
  for (int i = 0; i < T; ++i)
    if (i == T - 1 || cut_after[i]) {
      lengths.push_back(i + 1 - start);
      start = i + 1;
    }
  return lengths;
}

std::string describe_split(const std::vector<int>& lengths) {
  std::string s;
  for (int n : lengths) s += (s.empty() ? "" : "+") + std::to_string(n);
  return s;
}

// The trace of prefills of `lengths` tokens each, causal within each chunk.
Trace<double> chunked_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                            const optimized::KernelSet& set, const std::vector<int>& lengths) {
  optimized::Engine engine(weights, set, kThreads);
  Trace<double> trace = make_trace<double>(weights.config, static_cast<int>(tokens.size()));
  engine.set_capture(&trace);
  const std::span<const int> all(tokens);
  size_t start = 0;
  for (int n : lengths) {
    engine.prefill(all.subspan(start, n), Mask::causal, optimized::Logits::none);
    start += n;
  }
  return trace;
}

RC_GTEST_PROP(ChunkedPrefill, AnySplitEqualsOnePrefill, ()) {
  const ModelCase m = *gen_model_case();
  const int T = static_cast<int>(m.tokens.size());
  const auto cuts = *rc::gen::container<std::vector<bool>>(T - 1, rc::gen::arbitrary<bool>());
  const std::vector<int> lengths = chunk_lengths(cuts, T);
  const Weights<float> weights = m.weights();

  Truths truths(weights, m.tokens, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const oracle::Reference& truth = truths.of(*set);
    const std::string one = budget_finding(
        "kernel " + set->name + ", one prefill",
        optimized::run_trace(weights, m.tokens, set->name, Mode::full, 0, Mask::causal, kThreads),
        truth, Mask::causal);
    if (!one.empty()) RC_FAIL(failure(m, one));
    const std::string chunked =
        budget_finding("kernel " + set->name + ", chunks " + describe_split(lengths),
                       chunked_trace(weights, m.tokens, *set, lengths), truth, Mask::causal);
    if (!chunked.empty()) RC_FAIL(failure(m, chunked));
  }
}

}  // namespace
}  // namespace gpt2::properties
