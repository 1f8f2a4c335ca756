// Batches on the engine (engine.h, model/batch.h): every row of a padded
// batch, prefilled together and decoded together, against the row run alone;
// bit for bit for the sets that declare batch invariance (fast, bf16),
// within the cross-order tolerance for the others; and the errors for bad
// batches.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>

#include "model/error.h"
#include "optimized/engine.h"
#include "optimized/model_test_support.h"
#include "optimized/trace_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::cross_order_tolerance;
using testing::describe;
using testing::max_scaled_difference;
using testing::random_tokens;
using testing::random_weights;

// Rows of the given prompt lengths, each followed by `steps` decoded tokens,
// drawn from `seed`.
std::vector<std::vector<int>> rows_of(const Config& config, const std::vector<int>& prompts,
                                      int steps, uint64_t seed) {
  std::vector<std::vector<int>> rows;
  for (size_t r = 0; r < prompts.size(); ++r)
    rows.push_back(random_tokens(prompts[r] + steps, config.vocab_size, seed * 977 + r));
  return rows;
}

// Every tensor, op tensors included, bit for bit; "" when identical.
std::string first_bit_difference(const Trace<double>& a, const Trace<double>& b) {
  std::string found;
  std::vector<const std::vector<double>*> other;
  for_each_trace_tensor(b, [&](const std::string&, const std::vector<double>& t, const Shape&) {
    other.push_back(&t);
  });
  size_t i = 0;
  for_each_trace_tensor(
      a, [&](const std::string& name, const std::vector<double>& t, const Shape& shape) {
        const std::vector<double>& u = *other[i++];
        if (!found.empty()) return;
        if (t.size() != u.size()) {
          found = name + ": sizes differ";
          return;
        }
        for (size_t k = 0; k < t.size(); ++k)
          if (t[k] != u[k]) {
            found = name + " position " + std::to_string(k / shape[1]) + ": " +
                    std::to_string(t[k]) + " vs " + std::to_string(u[k]);
            return;
          }
      });
  return found;
}

struct BatchShape {
  Config config;
  std::vector<int> prompts;  // prompt length of each row
  int steps;                 // decoded tokens after the prompts
};

std::vector<BatchShape> batch_shapes() {
  return {
      {make_config(1, 1, 1, 4, 3), {1, 3}, 1},                 // C = HS = 1
      {make_config(2, 3, 3, 7, 7), {2, 5, 1}, 2},              // head size 1
      {make_config(2, 2, 10, 12, 13), {7, 1, 4, 7, 2, 9}, 3},  // HS = 5, six rows
      {make_config(1, 2, 34, 12, 40), {3, 8, 5, 1, 12 - 4, 2, 6, 4, 7, 1, 2, 3, 5}, 4},  // B = 13
      {make_config(2, 4, 16, 17, 50), {17}, 0},  // one full row
  };
}

// Every row of a padded batch against the row alone (prefilled, then decoded
// token by token): bit for bit for a set that declares batch invariance,
// within the cross-order tolerance for every set.
TEST(EngineBatch, EveryRowMatchesItsSingleRunAndInvariantSetsBitForBit) {
  uint64_t seed = 300;
  for (const BatchShape& shape : batch_shapes())
    for (const KernelSet& set : kernels())
      for (Padding padding : {Padding::left, Padding::right}) {
        ++seed;
        const Config& config = shape.config;
        SCOPED_TRACE(::testing::Message()
                     << set.name << " " << describe(config) << " " << padding_name(padding)
                     << " B=" << shape.prompts.size() << " seed=" << seed);
        const Weights<float> w = random_weights(config, seed);
        const auto rows = rows_of(config, shape.prompts, shape.steps, seed);
        BatchOptions options;
        options.padding = padding;
        const auto batch =
            run_batch_trace(w, rows, shape.prompts, set, options, 2, TraceLevel::ops);
        ASSERT_EQ(batch.size(), rows.size());
        for (size_t r = 0; r < rows.size(); ++r) {
          SCOPED_TRACE("row " + std::to_string(r));
          const Trace<double> alone = run_passes_trace(w, rows[r], {shape.prompts[r]}, set,
                                                       Mask::causal, 2, TraceLevel::ops);
          const auto diff = max_scaled_difference(batch[r], alone);
          EXPECT_LE(diff.error, cross_order_tolerance(config))
              << "worst at " << diff.tensor << " position " << diff.position;
          if (set.batch_invariant) {
            EXPECT_EQ(first_bit_difference(batch[r], alone), "");
          }
        }
      }
}

TEST(EngineBatch, FastAndBf16DeclareBatchInvarianceAndEigenDoesNot) {
  EXPECT_TRUE(find_kernel("fast").batch_invariant);
  EXPECT_TRUE(find_kernel("bf16").batch_invariant);
  EXPECT_FALSE(find_kernel("eigen").batch_invariant);
}

// The logits prefill_batch and decode_batch return are each row's last
// token's, as the row alone gives them.
TEST(EngineBatch, ReturnsEachRowsLastLogitsAsTheRowAlone) {
  const Config config = make_config(2, 2, 12, 16, 21);
  const Weights<float> w = random_weights(config, 9);
  const auto rows = rows_of(config, {5, 2, 9}, 2, 9);
  const int V = config.vocab_size;
  for (const char* kernel : {"fast", "bf16"}) {
    SCOPED_TRACE(kernel);
    Engine batch(w, find_kernel(kernel), 2);
    std::vector<std::unique_ptr<Engine>> owned;
    for (size_t r = 0; r < rows.size(); ++r)
      owned.push_back(std::make_unique<Engine>(w, find_kernel(kernel), 1));
    std::vector<std::vector<int>> prompts;
    for (size_t r = 0; r < rows.size(); ++r)
      prompts.emplace_back(rows[r].begin(), rows[r].end() - 2);
    auto logits = batch.prefill_batch(prompts, {Padding::left});
    ASSERT_EQ(logits.size(), rows.size() * V);
    for (size_t r = 0; r < rows.size(); ++r) {
      const auto single = owned[r]->prefill(prompts[r]);
      EXPECT_TRUE(std::equal(single.begin(), single.end(), logits.begin() + r * V)) << r;
    }
    for (int s = 0; s < 2; ++s) {
      std::vector<int> next;
      for (const auto& row : rows) next.push_back(row[row.size() - 2 + s]);
      logits = batch.decode_batch(next);
      for (size_t r = 0; r < rows.size(); ++r) {
        const auto single = owned[r]->decode(next[r]);
        EXPECT_TRUE(std::equal(single.begin(), single.end(), logits.begin() + r * V))
            << "step " << s << " row " << r;
        EXPECT_EQ(batch.batch_position(r), owned[r]->position());
      }
    }
  }
}

// Without the padding mask, a left-padded row's real positions see the
// padding's keys and change; the row that fills the rectangle does not.
TEST(EngineBatch, WithoutThePaddingMaskOnlyThePaddedRowsChange) {
  const Config config = make_config(2, 2, 12, 16, 21);
  const Weights<float> w = random_weights(config, 10);
  const auto rows = rows_of(config, {6, 3}, 0, 10);
  const KernelSet& set = find_kernel("fast");
  BatchOptions masked, unmasked;
  unmasked.padding_mask = false;
  const auto a = run_batch_trace(w, rows, {6, 3}, set, masked, 1);
  const auto b = run_batch_trace(w, rows, {6, 3}, set, unmasked, 1);
  EXPECT_EQ(first_bit_difference(a[0], b[0]), "");
  EXPECT_EQ(a[1].embed, b[1].embed);
  const int C = config.n_embd;
  for (int p = 0; p < 3; ++p)
    EXPECT_FALSE(std::equal(a[1].block[0].begin() + p * C, a[1].block[0].begin() + (p + 1) * C,
                            b[1].block[0].begin() + p * C))
        << "position " << p;
}

// The single sequence and a batch live side by side: neither changes the other.
TEST(EngineBatch, ABatchLeavesTheSingleSequenceAsItWas) {
  const Config config = make_config(1, 2, 8, 10, 11);
  const Weights<float> w = random_weights(config, 11);
  Engine engine(w, find_kernel("fast"), 1), other(w, find_kernel("fast"), 1);
  engine.prefill(std::vector<int>{1, 2, 3});
  other.prefill(std::vector<int>{1, 2, 3});
  engine.prefill_batch({{4, 5}, {6}});
  engine.decode_batch(std::vector<int>{7, 8});
  const auto a = engine.decode(9);
  const auto b = other.decode(9);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), b.begin()));
  EXPECT_EQ(engine.position(), 4);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(EngineBatch, BadBatchesAreInputErrorsNamingTheRow) {
  const Config config = make_config(1, 1, 4, 6, 10);  // P = 6, V = 10
  const Weights<float> w = random_weights(config, 12);
  Engine engine(w, find_kernel("fast"), 1);
  using ::testing::HasSubstr;
  EXPECT_THAT(error_of([&] { engine.prefill_batch({}); }), HasSubstr("batch: no rows"));
  EXPECT_THAT(error_of([&] {
                engine.prefill_batch({{1}, {}});
              }),
              HasSubstr("batch, row 1: empty token list"));
  EXPECT_THAT(error_of([&] {
                engine.prefill_batch({{1}, {2, 10}});
              }),
              HasSubstr("batch, row 1: token 1 is 10"));
  EXPECT_THAT(error_of([&] {
                engine.prefill_batch({{1, 2, 3, 4, 5, 6, 7}});
              }),
              HasSubstr("batch, row 0: 7 tokens exceed the context of 6"));
  EXPECT_THAT(error_of([&] { engine.decode_batch(std::vector<int>{1}); }),
              HasSubstr("before any prefill_batch"));
  BatchOptions reserve;
  reserve.max_new = 1;
  engine.prefill_batch({{1, 2, 3}, {4}}, reserve);  // 4 slots per row
  EXPECT_THAT(error_of([&] { engine.decode_batch(std::vector<int>{1}); }),
              HasSubstr("1 tokens for a batch of 2 rows"));
  EXPECT_THAT(error_of([&] {
                engine.decode_batch(std::vector<int>{1, 10});
              }),
              HasSubstr("row 1: token 10 is outside the vocabulary"));
  engine.decode_batch(std::vector<int>{1, 2});
  EXPECT_THAT(error_of([&] {
                engine.decode_batch(std::vector<int>{1, 2});
              }),
              HasSubstr("row 0: its cache of 4 slots is full"));
  engine.prefill_batch({{1, 2, 3, 4, 5}, {4}});  // the whole context: one step left
  engine.decode_batch(std::vector<int>{1, 2});
  EXPECT_THAT(error_of([&] {
                engine.decode_batch(std::vector<int>{1, 2});
              }),
              HasSubstr("row 0: position 6 is beyond the context of 6 positions"));
}

}  // namespace
}  // namespace gpt2::optimized
