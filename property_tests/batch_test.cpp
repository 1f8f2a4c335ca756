// Claims about padded batches (model/batch.h, README.md "Batches"), on random
// models and batches (gen_batch: 1 to B rows of their own lengths, left or
// right padding, 0-2 decode steps after the prompts):
//
//   * a row of a padded batch equals its single run: every kernel set's row
//     is within the oracle's budget of the row's single-sequence truth, and
//     a set that declares batch invariance gives the row alone's bits, with
//     up to 32 rows;
//   * permuting the rows permutes the outputs, and adding a row never
//     changes the others (bit for bit, for the sets that declare batch
//     invariance: a set that does not may round a row differently in another
//     batch, and the first claim holds it to the budget wherever it is);
//   * removing the padding mask changes every real position of every
//     left-padded row (block.0 already, by more than the reference's
//     rounding at 50 digits, and by more than kDistinctBudgets budgets in
//     every kernel set), and changes nothing else: not the unpadded rows,
//     and not right padding, whose padding the causal mask already hides
//     from every real token. Models as in claim 4 (mask_removal_test.cpp,
//     ModelLimits): n_embd >= 3, GPT-2's weight scales.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <numeric>
#include <sstream>

#include "oracle/compare.h"
#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

std::vector<Trace<double>> run_batch(const Weights<float>& weights, const BatchCase& b,
                                     const optimized::KernelSet& set, bool padding_mask = true,
                                     TraceLevel level = TraceLevel::blocks) {
  optimized::BatchOptions options;
  options.padding = b.padding;
  options.padding_mask = padding_mask;
  return optimized::run_batch_trace(weights, b.rows, b.prompt_lengths, set, options, kThreads,
                                    level);
}

Trace<double> run_alone(const Weights<float>& weights, const BatchCase& b, size_t row,
                        const optimized::KernelSet& set) {
  return optimized::run_passes_trace(weights, b.rows[row], {b.prompt_lengths[row]}, set,
                                     Mask::causal, kThreads);
}

std::string batch_failure(const ModelCase& m, const BatchCase& b, const std::string& finding) {
  return failure(m, "batch: " + describe(b) + "\n" + finding);
}

// The model of a batch property: gen_model_case's (its tokens unused).
ModelCase model_for_batches(const ModelLimits& limits = {}) {
  ModelCase m = *gen_model_case(limits);
  m.tokens.clear();
  return m;
}

RC_GTEST_PROP(PaddedBatch, EveryRowIsWithinTheBudgetOfItsSingleSequenceTruth, ()) {
  const ModelCase m = model_for_batches();
  const BatchCase b = *gen_batch(m.config, 4);
  const Weights<float> weights = m.weights();
  // Judged: the first row and the most padded one (each needs its own
  // 50-digit truth and ensemble).
  const size_t shortest =
      std::min_element(b.prompt_lengths.begin(), b.prompt_lengths.end()) - b.prompt_lengths.begin();
  std::vector<size_t> judged = {0};
  if (shortest != 0) judged.push_back(shortest);
  for (size_t r : judged) {
    Truths truths(weights, b.rows[r], Mask::causal, m.weight_seed);
    for (const optimized::KernelSet* set : kernel_sets()) {
      const std::string finding =
          budget_finding("kernel " + set->name + ", row " + std::to_string(r) + " of the batch",
                         run_batch(weights, b, *set)[r], truths.of(*set), Mask::causal);
      if (!finding.empty()) RC_FAIL(batch_failure(m, b, finding));
    }
  }
}

RC_GTEST_PROP(PaddedBatch, InvariantSetsGiveEveryRowTheBitsOfItsSingleRun, ()) {
  const ModelCase m = model_for_batches();
  const BatchCase b = *gen_batch(m.config, 32);
  const Weights<float> weights = m.weights();
  for (const optimized::KernelSet* set : kernel_sets()) {
    if (!set->batch_invariant) continue;
    const auto batch = run_batch(weights, b, *set);
    for (size_t r = 0; r < b.rows.size(); ++r) {
      const std::string finding =
          bit_difference("kernel " + set->name + ", row " + std::to_string(r) + " in the batch",
                         batch[r], "the row alone", run_alone(weights, b, r, *set));
      if (!finding.empty()) RC_FAIL(batch_failure(m, b, finding));
    }
  }
}

RC_GTEST_PROP(PaddedBatch, PermutingTheRowsPermutesTheOutputs, ()) {
  const ModelCase m = model_for_batches();
  const BatchCase b = *gen_batch(m.config, 6);
  // A permutation of the rows, drawn (shrinks toward the identity).
  std::vector<size_t> order(b.rows.size());
  std::iota(order.begin(), order.end(), 0);
  for (size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[*rc::gen::inRange<size_t>(0, i)]);
  BatchCase permuted = b;
  for (size_t i = 0; i < order.size(); ++i) {
    permuted.rows[i] = b.rows[order[i]];
    permuted.prompt_lengths[i] = b.prompt_lengths[order[i]];
  }
  const Weights<float> weights = m.weights();
  for (const optimized::KernelSet* set : kernel_sets()) {
    if (!set->batch_invariant) continue;
    const auto original = run_batch(weights, b, *set);
    const auto moved = run_batch(weights, permuted, *set);
    for (size_t i = 0; i < order.size(); ++i) {
      const std::string finding = bit_difference(
          "kernel " + set->name + ", row " + std::to_string(order[i]), original[order[i]],
          "the same row moved to " + std::to_string(i), moved[i]);
      if (!finding.empty()) RC_FAIL(batch_failure(m, b, finding));
    }
  }
}

RC_GTEST_PROP(PaddedBatch, AddingARowNeverChangesTheOthers, ()) {
  const ModelCase m = model_for_batches();
  const BatchCase b = *gen_batch(m.config, 6);
  // One more row, of any length (it may widen the rectangle), at any index.
  const std::vector<int> extra = *gen_tokens(m.config, b.steps + 1);
  const size_t at = *rc::gen::inRange<size_t>(0, b.rows.size() + 1);
  BatchCase grown = b;
  grown.rows.insert(grown.rows.begin() + at, extra);
  grown.prompt_lengths.insert(grown.prompt_lengths.begin() + at,
                              static_cast<int>(extra.size()) - b.steps);
  const Weights<float> weights = m.weights();
  for (const optimized::KernelSet* set : kernel_sets()) {
    if (!set->batch_invariant) continue;
    const auto before = run_batch(weights, b, *set);
    const auto after = run_batch(weights, grown, *set);
    for (size_t r = 0; r < b.rows.size(); ++r) {
      const size_t moved = r < at ? r : r + 1;
      const std::string finding =
          bit_difference("kernel " + set->name + ", row " + std::to_string(r), before[r],
                         "the same row with a row of " + std::to_string(extra.size()) +
                             " tokens added at " + std::to_string(at),
                         after[moved]);
      if (!finding.empty()) RC_FAIL(batch_failure(m, b, finding));
    }
  }
}

// Models where a hidden key's weight is far above rounding: as claim 4's.
ModelLimits padding_sensitive_models() {
  ModelLimits limits;
  limits.config.min_embd = 3;
  limits.config.min_ctx = 2;
  limits.modes = {WeightMode::gpt2};
  return limits;
}

RC_GTEST_PROP(PaddedBatch, RemovingThePaddingMaskChangesThePaddedRowsRealPositions, ()) {
  const ModelCase m = model_for_batches(padding_sensitive_models());
  BatchCase b = *gen_batch(m.config, 4, 0);
  // At least two rows of different lengths: some row is padded.
  const std::vector<int> extra = *gen_tokens(m.config, 1);
  b.rows.push_back(extra);
  b.prompt_lengths.push_back(static_cast<int>(extra.size()));
  const int W = *std::max_element(b.prompt_lengths.begin(), b.prompt_lengths.end());
  RC_PRE(
      std::any_of(b.prompt_lengths.begin(), b.prompt_lengths.end(), [W](int n) { return n < W; }));
  const Weights<float> weights = m.weights();
  const int C = m.config.n_embd;

  // The reference at 50 digits.
  using reference::Real50;
  reference::Options masked, unmasked;
  masked.threads = unmasked.threads = kThreads;
  unmasked.padding_mask = false;
  const auto with = reference::forward_batch<Real50>(weights, b.rows, b.padding, masked);
  const auto without = reference::forward_batch<Real50>(weights, b.rows, b.padding, unmasked);
  for (size_t r = 0; r < b.rows.size(); ++r) {
    const bool padded = b.padding == Padding::left && b.prompt_lengths[r] < W;
    if (!padded) {  // unpadded, or right padding: not a bit changes
      const std::string finding =
          bit_difference("reference, row " + std::to_string(r) + " with the padding mask", with[r],
                         "without it", without[r]);
      if (!finding.empty()) RC_FAIL(batch_failure(m, b, finding));
      continue;
    }
    for (int p = 0; p < b.prompt_lengths[r]; ++p) {
      const double change = row_difference_to_scale(with[r].block[0], without[r].block[0], C, p);
      if (!(change > kReferenceDistinctRelative)) {
        std::ostringstream s;
        s << "reference: row " << r << " (" << W - b.prompt_lengths[r]
          << " padding columns), position " << p << " of block.0 changes by only " << change
          << " of the tensor's scale without the padding mask (claim: more than "
          << kReferenceDistinctRelative << ")";
        RC_FAIL(batch_failure(m, b, s.str()));
      }
    }
  }

  // Every kernel set, on the most padded row, by the budget of its truth.
  if (b.padding != Padding::left) return;
  const size_t r =
      std::min_element(b.prompt_lengths.begin(), b.prompt_lengths.end()) - b.prompt_lengths.begin();
  Truths truths(weights, b.rows[r], Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const double threshold = kDistinctBudgets * budget_limit(truths.of(*set), "block.0");
    const Trace<double> a = run_batch(weights, b, *set)[r];
    const Trace<double> u = run_batch(weights, b, *set, false)[r];
    for (int p = 0; p < b.prompt_lengths[r]; ++p) {
      double change = 0;
      for (int c = 0; c < C; ++c)
        change = std::max(change, std::abs(a.block[0][p * C + c] - u.block[0][p * C + c]));
      if (!(change > threshold)) {
        std::ostringstream s;
        s << "kernel " << set->name << ": row " << r << ", position " << p
          << " of block.0 changes by only " << change
          << " without the padding mask (claim: more than " << threshold << " = "
          << kDistinctBudgets << " budgets)";
        RC_FAIL(batch_failure(m, b, s.str()));
      }
    }
  }
}

}  // namespace
}  // namespace gpt2::properties
