// The cost model of a reference run: the work it counts is the work the
// reference does, the memory it counts fits the targets, and the
// calibration measures something.
#include "reference/cost.h"

#include <gtest/gtest.h>

#include "model/checkpoint.h"

namespace gpt2::reference {
namespace {

// The multiply-adds of bench/reference_bench's count (projections, causal
// attention, logits) and one tanh per hidden unit, exp per visible score.
TEST(CostTest, ForwardWorkCountsProductsAndTranscendentals) {
  const Config c = make_config(2, 2, 16, 32, 64);
  const int T = 5;
  const Work w = forward_work(c, T, Mask::causal);
  const double C = 16, V = 64, L = 2;
  EXPECT_DOUBLE_EQ(w.multiply_adds, T * (L * 12 * C * C + C * V) + L * 2 * C * T * (T + 1) / 2);
  EXPECT_DOUBLE_EQ(w.transcendentals, L * (T * 4 * C + 2 * T * (T + 1) / 2.0));
  EXPECT_GT(forward_work(c, T, Mask::none).multiply_adds, w.multiply_adds);
  const Work parts = blocks_work(c, T, Mask::causal);
  EXPECT_DOUBLE_EQ(parts.multiply_adds + logits_work(c, T).multiply_adds, w.multiply_adds);
}

// The memory targets, as the model counts them: 124M with 8 tokens
// under 1.5 GiB and XL with 1 token under 12 GiB at 50 digits, weights
// included (measured figures: README).
TEST(CostTest, StoredWeightsBringGpt2SizesWithinTheTargets) {
  const Config small = find_preset("gpt2-124m-shape").config;
  const Config xl = find_preset("gpt2-xl-shape").config;
  const uint64_t gib = 1ull << 30;
  EXPECT_LT(weight_bytes(small) +
                run_bytes(small, 8, Precision::digits50, TraceLevel::blocks, Mode::full),
            gib * 3 / 2);
  EXPECT_LT(
      weight_bytes(xl) + run_bytes(xl, 1, Precision::digits50, TraceLevel::blocks, Mode::full),
      12 * gib);
  EXPECT_EQ(scalar_bytes(Precision::digits50), 56u);
  EXPECT_GT(run_bytes(small, 8, Precision::digits50, TraceLevel::ops, Mode::full),
            run_bytes(small, 8, Precision::digits50, TraceLevel::blocks, Mode::full));
  EXPECT_EQ(trace_elements(make_config(1, 1, 2, 4, 3), 4, TraceLevel::blocks), 3u * 8 + 12);
}

TEST(CostTest, CalibrationMeasuresAPositiveSpeed) {
  const Speed s = calibrate(Precision::f64, 1);
  EXPECT_GT(s.multiply_add_seconds, 0);
  EXPECT_GT(s.transcendental_seconds, 0);
  EXPECT_GT(s.seconds(Work{1e9, 0}), 0);
  EXPECT_EQ(duration_text(40), "40 s");
  EXPECT_EQ(duration_text(750), "12.5 min");
  EXPECT_EQ(duration_text(3 * 3600), "3.0 h");
}

}  // namespace
}  // namespace gpt2::reference
