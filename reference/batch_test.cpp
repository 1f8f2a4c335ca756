// A padded batch (model/batch.h) in the reference: with the padding mask and
// position ids counted over real tokens, a row's trace is exactly -- every
// element, at 50 digits -- the trace of the row run alone, because padding
// adds only exact zeros to every sum (attention.h, padded_attention). Without
// the padding mask, a left-padded row changes; a row without padding never
// does.
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "model/error.h"
#include "reference/forward.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::test_seed;

// Ragged rows drawn from the seed: lengths 1 .. n_ctx, the longest first
// missing so that padding goes on both sides of the middle rows.
std::vector<std::vector<int>> ragged_rows(const Config& config, std::vector<int> lengths,
                                          uint64_t seed) {
  std::vector<std::vector<int>> rows;
  for (size_t r = 0; r < lengths.size(); ++r) {
    std::vector<int> row(lengths[r]);
    for (int i = 0; i < lengths[r]; ++i)
      row[i] = static_cast<int>((seed * 31 + r * 17 + i * 7 + 3) % config.vocab_size);
    rows.push_back(row);
  }
  return rows;
}

// Every tensor of every row, element by element, with ==, at Real.
template <class Real>
void expect_identical(const Trace<Real>& batch_row, const Trace<Real>& alone,
                      const std::string& what) {
  ASSERT_EQ(batch_row.n_tokens, alone.n_tokens) << what;
  size_t compared = 0;
  for_each_trace_tensor(
      batch_row, [&](const std::string& name, const std::vector<Real>& t, const Shape&) {
        const std::vector<Real>* other = nullptr;
        for_each_trace_tensor(alone,
                              [&](const std::string& n, const std::vector<Real>& u, const Shape&) {
                                if (n == name) other = &u;
                              });
        ASSERT_NE(other, nullptr) << name;
        ASSERT_EQ(t.size(), other->size()) << what << " " << name;
        for (size_t i = 0; i < t.size(); ++i) {
          if (!(t[i] == (*other)[i])) {
            ADD_FAILURE() << what << ": " << name << "[" << i << "] differs from the row run alone";
            return;
          }
        }
        compared += t.size();
      });
  EXPECT_GT(compared, 0u);
}

TEST(BatchReference, APaddedRowEqualsItsSingleRunExactlyAt50Digits) {
  const uint64_t seed = test_seed(17);
  const Config config = make_config(2, 2, 8, 9, 16);
  const Weights<float> w = seeded_weights(config, seed);  // kept as stored
  const auto rows = ragged_rows(config, {3, 9, 1, 6}, seed);
  Options options;
  options.trace_level = TraceLevel::ops;  // the op tensors too
  options.threads = 2;
  for (Padding padding : {Padding::left, Padding::right}) {
    const auto batch = forward_batch<Real50>(w, rows, padding, options);
    ASSERT_EQ(batch.size(), rows.size());
    for (size_t r = 0; r < rows.size(); ++r)
      expect_identical(batch[r], forward<Real50>(w, rows[r], options),
                       std::string(padding_name(padding)) + " padding, row " + std::to_string(r));
  }
}

TEST(BatchReference, APaddedRowEqualsItsSingleRunExactlyInFloatToo) {
  // Adding an exact zero is exact in every arithmetic, float32 included.
  const uint64_t seed = test_seed(18);
  const Config config = make_config(3, 3, 12, 11, 20);
  const Weights<float> w = seeded_weights(config, seed);
  const auto rows = ragged_rows(config, {2, 11, 5, 1, 7}, seed);
  Options options;
  options.mask = Mask::none;  // also without the causal mask
  for (Padding padding : {Padding::left, Padding::right}) {
    const auto batch = forward_batch<float>(w, rows, padding, options);
    for (size_t r = 0; r < rows.size(); ++r)
      expect_identical(batch[r], forward<float>(w, rows[r], options),
                       std::string(padding_name(padding)) + " padding, row " + std::to_string(r));
  }
}

TEST(BatchReference, WithoutThePaddingMaskALeftPaddedRowChangesAndAnUnpaddedOneDoesNot) {
  const uint64_t seed = test_seed(19);
  const Config config = make_config(2, 2, 8, 8, 16);
  const Weights<float> w = seeded_weights(config, seed);  // kept as stored
  const auto rows = ragged_rows(config, {5, 2}, seed);    // row 1 has 3 padding columns
  Options unmasked;
  unmasked.padding_mask = false;
  const auto batch = forward_batch<Real50>(w, rows, Padding::left, unmasked);
  // Row 0 fills the rectangle: no padding to see.
  expect_identical(batch[0], forward<Real50>(w, rows[0]), "row 0");
  // Row 1's real positions see the padding keys: every one changes in block.0.
  const Trace<Real50> alone = forward<Real50>(w, rows[1]);
  EXPECT_TRUE(batch[1].embed == alone.embed);  // position ids do not depend on the mask
  for (int p = 0; p < 2; ++p) {
    bool changed = false;
    for (int c = 0; c < config.n_embd; ++c)
      changed = changed ||
                batch[1].block[0][p * config.n_embd + c] != alone.block[0][p * config.n_embd + c];
    EXPECT_TRUE(changed) << "position " << p;
  }
}

TEST(BatchReference, RejectsABadBatchNamingTheRow) {
  const Config config = make_config(1, 1, 4, 4, 8);
  const Weights<float> w = seeded_weights(config, 1);
  try {
    run_batch(w, {{1, 2}, {3, 8}}, Padding::left, Precision::f64);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("batch, row 1: token 1 is 8"), std::string::npos)
        << e.what();
  }
  Options incremental;
  incremental.mode = Mode::incremental;
  EXPECT_THROW(forward_batch<float>(w, {{1}}, Padding::left, incremental), InputError);
}

}  // namespace
}  // namespace gpt2::reference
