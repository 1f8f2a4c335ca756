#include "oracle/compare.h"

#include "oracle/baseline.h"

#include <gtest/gtest.h>

#include <limits>

namespace gpt2::oracle {
namespace {

// Truth: a 2-layer trace of T = 4 positions with values of order 1.
Trace<double> truth_trace() {
  Config c{2, 1, 3, 8, 5, 1e-5, "gelu_new"};
  Trace<double> t = make_trace<double>(c, 4);
  double x = 0.3;
  for_each_trace_tensor(t, [&](const std::string&, std::vector<double>& v, const Shape&) {
    for (double& e : v) e = (x = x * 1.7 - static_cast<int>(x * 1.7)) - 0.5;
  });
  return t;
}

// Baseline errors of 1e-7 and terms of magnitude 0.5 everywhere:
// limit = 2·1e-7 + 4·ulp(0.5) = 2e-7 + 2.4e-7.
std::vector<Budget> baseline(int n) { return std::vector<Budget>(n, make_budget(1e-7, 0.5)); }

TEST(CompareTraces, IdenticalTracesPass) {
  const auto t = truth_trace();
  const auto r = compare_traces(t, t, baseline(5), Mask::causal);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.worst_ratio(), 0);
  ASSERT_EQ(r.tensors.size(), 5u);
  EXPECT_EQ(r.tensors[1].name, "block.0");
  EXPECT_EQ(r.tensors[1].layer, 0);
  EXPECT_EQ(r.tensors[4].name, "logits");
  EXPECT_EQ(r.tensors[4].layer, -1);
}

TEST(CompareTraces, ErrorWithinBudgetPassesAndBeyondFails) {
  const auto t = truth_trace();
  auto v = t;
  v.block[0][5] += 1.5e-7;  // within 2e-7 + floor
  EXPECT_TRUE(compare_traces(v, t, baseline(5), Mask::causal).passed());
  v.block[0][5] += 1e-6;
  EXPECT_FALSE(compare_traces(v, t, baseline(5), Mask::causal).passed());
}

TEST(CompareTraces, FirstFailureIsLocatedAndLaterOnesAreDownstream) {
  const auto t = truth_trace();
  auto v = t;
  v.block[1][2 * 3 + 1] += 1e-3;  // block.1, position 2
  v.ln_f[3 * 3] += 1e-3;          // position 3: can follow from position 2
  v.logits[2 * 5 + 4] += 1e-3;    // position 2
  const auto r = compare_traces(v, t, baseline(5), Mask::causal);
  ASSERT_FALSE(r.passed());
  EXPECT_EQ(r.first_finding, 2);
  const TensorResult& f = r.tensors[2];
  EXPECT_EQ(f.name, "block.1");
  EXPECT_EQ(f.layer, 1);
  EXPECT_EQ(f.first_failing_position, 2);
  EXPECT_EQ(f.verdict, Verdict::fail);
  EXPECT_NEAR(f.metrics.max_abs_error, 1e-3, 1e-12);
  EXPECT_GT(f.ratio, 1000);
  EXPECT_EQ(r.tensors[3].verdict, Verdict::downstream);
  EXPECT_EQ(r.tensors[3].downstream_of, "block.1");
  EXPECT_EQ(r.tensors[4].verdict, Verdict::downstream);
  EXPECT_NE(r.summary().find("FAIL at block.1, position 2"), std::string::npos) << r.summary();
}

TEST(CompareTraces, ALaterFailureAtAnEarlierPositionIsANewFindingUnderACausalMask) {
  const auto t = truth_trace();
  auto v = t;
  v.block[0][3 * 3] += 1e-3;  // block.0, position 3
  v.logits[0] += 1e-3;        // logits, position 0: cannot follow from position 3
  auto r = compare_traces(v, t, baseline(5), Mask::causal);
  EXPECT_EQ(r.tensors[1].verdict, Verdict::fail);
  EXPECT_EQ(r.tensors[4].verdict, Verdict::fail);
  // Without a mask every position sees every other: it is downstream.
  r = compare_traces(v, t, baseline(5), Mask::none);
  EXPECT_EQ(r.tensors[4].verdict, Verdict::downstream);
}

TEST(CompareTraces, NonFiniteValueIsAFindingBeforeAnyMetric) {
  const auto t = truth_trace();
  auto v = t;
  v.embed[7] = std::numeric_limits<double>::quiet_NaN();  // position 2
  const auto r = compare_traces(v, t, baseline(5), Mask::causal);
  EXPECT_EQ(r.tensors[0].verdict, Verdict::non_finite);
  EXPECT_EQ(r.tensors[0].first_failing_position, 2);
  EXPECT_NE(r.summary().find("non-finite"), std::string::npos);
}

TEST(CompareTraces, AbsentTensorsAreSkipped) {
  const auto t = truth_trace();
  auto v = t;
  v.block[0][0] += 1;  // would fail, but is not carried
  const std::vector<bool> present = {false, false, false, false, true};
  const auto r = compare_traces(v, t, baseline(5), Mask::causal, present);
  EXPECT_TRUE(r.passed());
  EXPECT_EQ(r.tensors[1].verdict, Verdict::absent);
}

TEST(Budget, LimitIsKTimesBaselinePlusFloor) {
  const Budget b = make_budget(1e-6, 1.0);
  EXPECT_EQ(b.limit(), kBudgetMultiplier * 1e-6 + kFloorUlps * ulp_f32(1.0));
}

TEST(Budget, FloorFollowsTheTermsOfTheResidualSumAndTheDotProducts) {
  // One block, T = 1, C = 2, V = 1: the block's output cancels its input.
  Weights<float> w = zero_weights<float>(Config{1, 1, 2, 1, 1, 1e-5, "gelu_new"});
  w.wte = {0.5f, -0.25f};
  Trace<double> t = make_trace<double>(w.config, 1);
  t.embed = {1.0, -2.0};
  t.block[0] = {1e-3, -2.0};  // x_out - x_in = (-0.999, 0)
  t.ln_f = {1.0, 1.0};
  t.logits = {0.25};          // 0.5 - 0.25: terms of magnitude 0.75
  const auto s = term_scales(t, w);
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0], 2.0);
  EXPECT_EQ(s[1], 2.0);       // max(|1e-3| + ... , |-2| + 0): 1 + 0.999 = 1.999 < 2
  EXPECT_EQ(s[2], 1.0);
  EXPECT_EQ(s[3], 0.75);
}

}  // namespace
}  // namespace gpt2::oracle
