// Claim 6: an unmasked prefill poisons the cache. Prefill all tokens but the
// last, then decode the last:
//   * after a causal prefill, every position of every tensor is within the
//     oracle's budget of full causal recomputation (the 50-digit truth);
//   * after a Mask::none prefill, the decoded position differs from the
//     truth in every block from block.1 on by more than the oracle's budget
//     (the oracle tells it apart from full recomputation): its query reads
//     keys and values of block l >= 1 computed from earlier positions that
//     saw later tokens.
// (Block 0's keys and values come from the embeddings alone, which no mask
// changes: the decoded position's block.0 is unpoisoned, and is checked to
// be within budget too.)
//
// The models exclude one-block models, fewer than 3 tokens, n_embd < 5,
// large activations and near-constant rows (why: ModelLimits in
// generators.h). n_embd 3 and 4 are excluded here, not in claim 4, because
// this claim is judged in float32: the poisoning reaches the decoded
// position only at second order (block 0's change of the earlier rows, seen
// through block 1's projections at GPT-2's initial scale N(0, 0.02)), and on
// 5,682 (model, kernel set) results (seed 7, 1,500 models) its smallest
// size was 0.35 budgets at n_embd 3, 1.5 at n_embd 4, but 35 at n_embd 5,
// 44 at 6 and more above: with three or four channels the poisoning is real
// but can be smaller than float32 rounding. The threshold is one budget,
// not kDistinctBudgets: with a repeated token in the prefix (seed 42:
// tokens [14, 14, 0], n_embd 6) the poisoned position differs only through
// the position embeddings, measured at 8.4 budgets.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <span>
#include <sstream>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

// Smallest n_embd whose poisoning is claimed visible (see the file comment).
constexpr int kMinEmbd = 5;

ModelLimits poisonable_models() {
  ModelLimits limits;
  limits.config.min_layers = 2;
  limits.config.min_embd = kMinEmbd;
  limits.config.min_ctx = 3;
  limits.modes = {WeightMode::gpt2};
  limits.min_tokens = 3;
  return limits;
}

// Prefill tokens[0 .. T-2] with `prefill_mask`, decode tokens[T-1]; the
// whole trace.
Trace<double> prefill_then_decode(const Weights<float>& weights, const std::vector<int>& tokens,
                                  const optimized::KernelSet& set, Mask prefill_mask) {
  optimized::Engine engine(weights, set, kThreads);
  const int T = static_cast<int>(tokens.size());
  Trace<double> trace = make_trace<double>(weights.config, T);
  engine.set_capture(&trace);
  engine.prefill(std::span<const int>(tokens).first(T - 1), prefill_mask, optimized::Logits::none);
  engine.decode(tokens.back());
  return trace;
}

RC_GTEST_PROP(UnmaskedPrefill, PoisonsTheCache, ()) {
  const ModelCase m = *gen_model_case(poisonable_models());
  const int T = static_cast<int>(m.tokens.size()), C = m.config.n_embd;
  const Weights<float> weights = m.weights();

  Truths truths(weights, m.tokens, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const oracle::Reference& truth = truths.of(*set);
    std::string finding = budget_finding("kernel " + set->name + ", causal prefill then decode",
                                         prefill_then_decode(weights, m.tokens, *set, Mask::causal),
                                         truth, Mask::causal);
    if (!finding.empty()) RC_FAIL(failure(m, finding));

    const Trace<double> poisoned = prefill_then_decode(weights, m.tokens, *set, Mask::none);
    oracle::Reference block0 = truth;  // embed and block.0 of the decoded position
    block0.truth = rows_of(truth.truth, T - 1, 1);
    Trace<double> decoded = rows_of(poisoned, T - 1, 1);
    for (int l = 1; l < decoded.n_layer(); ++l) decoded.block[l] = block0.truth.block[l];
    decoded.ln_f = block0.truth.ln_f;
    decoded.logits = block0.truth.logits;
    finding = budget_finding(
        "kernel " + set->name + ", unmasked prefill then decode: block.0 of the decoded position",
        decoded, block0, Mask::causal);
    if (!finding.empty()) RC_FAIL(failure(m, finding));

    for (int l = 1; l < m.config.n_layer; ++l) {
      const double threshold = budget_limit(truth, "block." + std::to_string(l));
      double change = 0;
      int channel = 0;
      for (int c = 0; c < C; ++c) {
        const size_t i = static_cast<size_t>(T - 1) * C + c;
        const double d = std::abs(poisoned.block[l][i] - truth.truth.block[l][i]);
        if (d > change) change = d, channel = c;
      }
      if (!(change > threshold)) {
        const size_t i = static_cast<size_t>(T - 1) * C + channel;
        std::ostringstream s;
        s << "kernel " << set->name << ": after an unmasked prefill, the decoded position ("
          << T - 1 << ") of block." << l << " (layer " << l << ") differs from the causal truth "
          << "by only " << change << ", within the oracle's budget " << threshold
          << ": the cache was not poisoned; at channel " << channel << ": decoded "
          << to_text(poisoned.block[l][i]) << ", truth " << to_text(truth.truth.block[l][i]);
        RC_FAIL(failure(m, s.str()));
      }
    }
  }
}

}  // namespace
}  // namespace gpt2::properties
