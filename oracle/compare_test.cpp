#include "oracle/compare.h"

#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "oracle/budget.h"
#include "oracle/report.h"

namespace gpt2::oracle {
namespace {

// Truth: a 2-layer trace of T = 4 positions with values of order 1.
Trace<double> truth_trace(TraceLevel level = TraceLevel::blocks) {
  Config c{2, 1, 3, 8, 5, 1e-5, "gelu_new"};
  Trace<double> t = make_trace<double>(c, 4, level);
  double x = 0.3;
  for_each_trace_tensor(t, [&](const std::string&, std::vector<double>& v, const Shape&) {
    for (double& e : v) e = (x = x * 1.7 - static_cast<int>(x * 1.7)) - 0.5;
  });
  return t;
}

// Baseline (and shared) errors of 1e-7 and terms of magnitude 0.5
// everywhere: limit = 2·1e-7 + 4·ulp(0.5) = 2e-7 + 2.4e-7.
std::vector<Budget> baseline(int n) { return std::vector<Budget>(n, make_budget(1e-7, 1e-7, 0.5)); }
constexpr double kLimit = 2e-7 + 4 * 5.9604644775390625e-08;

// An error put into a value x of order 0.5 reads back as (x + d) - x, off by
// up to one double rounding of x (1.1e-16): relative 1e-7 of d = 1e-9.
constexpr double kReadBack = 1e-6;
#define EXPECT_INHERITED(actual, expected) EXPECT_NEAR(actual, expected, kReadBack*(expected))

// The block-level chain embed -> block.0 -> block.1 -> ln_f -> logits, each
// tensor reading the previous one with gain `gain`.
std::vector<Budget> chain(double gain) {
  std::vector<Budget> b = baseline(5);
  for (int i = 1; i < 5; ++i) b[i].inputs = {{i - 1, gain}};
  return b;
}

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

TEST(CompareTraces, FirstFailureIsLocatedAndEveryLaterTensorIsDownstream) {
  const auto t = truth_trace();
  auto v = t;
  v.block[1][2 * 3 + 1] += 1e-3;  // block.1, position 2
  v.logits[2 * 5 + 4] += 1e-3;    // position 2
  // ln_f is within budget, but it reads the finding: its verdict is not its own.
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
  EXPECT_EQ(r.tensors[1].verdict, Verdict::pass);  // before the finding: its own verdict
  EXPECT_EQ(r.tensors[3].verdict, Verdict::downstream);
  EXPECT_EQ(r.tensors[3].downstream_of, "block.1");
  EXPECT_EQ(r.tensors[4].verdict, Verdict::downstream);
  EXPECT_NE(r.summary().find("FAIL at block.1, position 2"), std::string::npos) << r.summary();
  // A downstream tensor does not set the worst ratio.
  EXPECT_EQ(r.worst_ratio(), f.ratio);
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

TEST(CompareTraces, NonFiniteValueIsAFindingWithItsLocationAndNoErrorFigure) {
  const auto t = truth_trace();
  auto v = t;
  v.embed[7] = std::numeric_limits<double>::quiet_NaN();  // position 2, column 1
  const auto r = compare_traces(v, t, baseline(5), Mask::causal);
  const TensorResult& e = r.tensors[0];
  EXPECT_EQ(e.verdict, Verdict::non_finite);
  EXPECT_TRUE(e.non_finite());
  EXPECT_EQ(e.first_failing_position, 2);
  EXPECT_EQ(e.non_finite_position(), 2);
  EXPECT_EQ(e.non_finite_column(), 1);
  EXPECT_NE(r.summary().find("non-finite"), std::string::npos);

  // The JSON report locates it and carries no finite-looking error.
  ConformanceReport report;
  report.model = "test";
  ScenarioResult s;
  s.scenario = "prefill T=4";
  s.kernel = "k";
  s.comparison = r;
  report.results.push_back(s);
  const auto j = nlohmann::json::parse(format_json(report));
  const auto& jt = j["results"][0]["tensors"][0];
  EXPECT_EQ(jt["tensor"], "embed");
  EXPECT_EQ(jt["non_finite"], true);
  EXPECT_TRUE(jt["max_abs_error"].is_null());
  EXPECT_TRUE(jt["ratio"].is_null());
  EXPECT_EQ(jt["first_non_finite"]["position"], 2);
  EXPECT_EQ(jt["first_non_finite"]["column"], 1);
  EXPECT_EQ(j["results"][0]["tensors"][1]["verdict"], "downstream");
  EXPECT_EQ(j["results"][0]["tensors"][1]["non_finite"], false);
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

TEST(CompareTraces, OnlyTheErrorBeyondTheInputsSharedErrorIsInherited) {
  const auto t = truth_trace();
  auto v = t;
  v.embed[0] += 1e-7;  // exactly the shared error of embed: nothing to inherit
  auto r = compare_traces(v, t, chain(10), Mask::causal);
  EXPECT_EQ(r.tensors[1].budget.inherited, 0.0);
  v.embed[0] += 2e-7;  // 3e-7: 2e-7 beyond the shared error, within the limit
  r = compare_traces(v, t, chain(10), Mask::causal);
  EXPECT_EQ(r.tensors[0].verdict, Verdict::pass);
  EXPECT_INHERITED(r.tensors[1].budget.inherited, 10 * 2e-7);
  EXPECT_NEAR(r.tensors[1].budget.limit(), kLimit + 2e-6, kReadBack * 2e-6);
  // block.0 may then be off by the inherited amount and still pass.
  v.block[0][0] += 2e-6;
  EXPECT_TRUE(compare_traces(v, t, chain(10), Mask::causal).passed());
}

TEST(CompareTraces, ErrorAboveTheSmallestMemberButWithinEIsInherited) {
  // The ensemble's members had 0.5e-7 .. 1e-7 in embed: an engine with 1e-7
  // there carries 0.5e-7 more than every member did into block.0.
  const auto t = truth_trace();
  auto budgets = chain(10);
  budgets[0].shared_error = 0.5e-7;
  auto v = t;
  v.embed[0] += 1e-7;
  const auto r = compare_traces(v, t, budgets, Mask::causal);
  EXPECT_INHERITED(r.tensors[1].budget.inherited, 10 * 0.5e-7);
}

TEST(CompareTraces, AbsentTensorsHandOnTheirInputsExcessNotTheirAllowance) {
  const auto t = truth_trace();
  auto v = t;
  // A logits-only trace: the logits budget is the end-to-end one, K·E + floor.
  std::vector<bool> present = {false, false, false, false, true};
  auto r = compare_traces(v, t, chain(100), Mask::causal, present);
  EXPECT_EQ(r.tensors[4].budget.inherited, 0.0);
  EXPECT_EQ(r.tensors[4].budget.limit(), kLimit);
  v.logits[3] += 2 * kLimit;
  EXPECT_FALSE(compare_traces(v, t, chain(100), Mask::causal, present).passed());
  // Embed present with an excess x: the logits inherit x through every gain.
  v = t;
  v.embed[1] += 1e-7 + 1e-9;
  present = {true, false, false, false, true};
  r = compare_traces(v, t, chain(2), Mask::causal, present);
  EXPECT_INHERITED(r.tensors[4].budget.inherited, 16 * 1e-9);
  EXPECT_INHERITED(r.tensors[2].budget.inherited, 4 * 1e-9);
}

TEST(CompareTraces, FormatOneRuleChainsTheInputErrorAndAbsentLimits) {
  const auto t = truth_trace();
  auto v = t;
  v.embed[0] += 1e-7;
  auto r = compare_traces(v, t, chain(10), Mask::causal, {}, BudgetRule::chained_input_error);
  EXPECT_INHERITED(r.tensors[1].budget.inherited, 10 * 1e-7);
  // An absent tensor hands on its whole limit.
  r = compare_traces(t, t, chain(10), Mask::causal, {true, false, true, true, true},
                     BudgetRule::chained_input_error);
  EXPECT_INHERITED(r.tensors[2].budget.inherited, 10 * kLimit);
}

// An op-level truth with the graph of tolerance.h: block.0's inputs are its
// mid and gelu, its block_input embed.
std::vector<Budget> op_budgets(const Trace<double>& truth) {
  const auto ids = trace_tensor_ids(truth.n_layer(), TraceLevel::ops);
  std::vector<Budget> b = baseline(static_cast<int>(ids.size()));
  for (size_t i = 1; i < ids.size(); ++i) b[i].inputs = {{static_cast<int>(i) - 1, 1.0}};
  // block.0 (index 7): mid (4) and gelu (6); block_input embed (0) with gain 50.
  b[7].inputs = {{4, 1.0}, {6, 1.0}};
  b[7].block_input = {0, 50.0};
  return b;
}

TEST(CompareTraces, ABlockLevelTraceAgainstAnOpTruthUsesTheWholeBlocksGain) {
  const auto t = truth_trace(TraceLevel::ops);
  auto v = block_level(t);
  v.embed[2] += 1e-7 + 1e-9;  // excess 1e-9
  const auto r = compare_traces(v, t, op_budgets(t), Mask::causal);
  ASSERT_EQ(r.tensors.size(), 1u + 2 * 7 + 2);
  EXPECT_EQ(r.tensors[1].verdict, Verdict::absent);  // block.0.ln_1
  EXPECT_EQ(r.tensors[7].name, "block.0");
  EXPECT_INHERITED(r.tensors[7].budget.inherited, 50 * 1e-9);
  // With the op tensors present, block.0 inherits through mid and gelu instead.
  auto w = t;
  w.embed[2] += 1e-7 + 1e-9;
  const auto s = compare_traces(w, t, op_budgets(t), Mask::causal);
  EXPECT_EQ(s.tensors[7].budget.inherited, 0.0);
}

TEST(CompareTraces, AnOpFindingIsNamedByItsOp) {
  const auto t = truth_trace(TraceLevel::ops);
  auto v = t;
  v.ops[1].gelu[3 * 12 + 5] += 1e-2;  // block.1 gelu, position 3
  const auto r = compare_traces(v, t, op_budgets(t), Mask::causal);
  ASSERT_FALSE(r.passed());
  EXPECT_EQ(r.tensors[r.first_finding].name, "block.1.gelu");
  EXPECT_NE(r.summary().find("FAIL at block.1 gelu, position 3"), std::string::npos) << r.summary();
}

TEST(Budget, LimitIsKTimesBaselinePlusFloor) {
  const Budget b = make_budget(1e-6, 0.5e-6, 1.0);
  EXPECT_EQ(b.limit(), kBudgetMultiplier * 1e-6 + kFloorUlps * ulp_f32(1.0));
}

TEST(Budget, FloorFollowsTheTermsOfTheResidualSumsAndTheDotProducts) {
  // One block, T = 1, C = 2, V = 1, zero weights but for a few.
  Weights<float> w = zero_weights<float>(Config{1, 1, 2, 1, 1, 1e-5, "gelu_new"});
  w.wte = {0.5f, -0.25f};
  w.blocks[0].mlp_c_proj_weight[0] = 0.5f;  // [4C, C]: gelu[0] -> block[0]
  Trace<double> t = make_trace<double>(w.config, 1, TraceLevel::ops);
  t.embed = {1.0, -2.0};
  t.ops[0].mid = {1.0, -0.5};  // attention projection is zero: mid = embed's terms
  t.ops[0].gelu[0] = -2.0;     // block[0] = 1 + (-2)(0.5) = 0: the terms are 2
  t.block[0] = {0.0, -0.5};
  t.ln_f = {1.0, 1.0};
  t.logits = {0.25};  // 0.5 - 0.25: terms of magnitude 0.75
  const auto s = term_scales(t, w, Mask::causal);
  ASSERT_EQ(s.size(), 10u);
  EXPECT_EQ(s[0], 2.0);  // embed
  EXPECT_EQ(s[4], 2.0);  // mid: |x_in| + 0
  EXPECT_EQ(s[7], 2.0);  // block.0: |mid| + |gelu·W| = 1 + 1, though block.0 is 0 there
  EXPECT_EQ(s[9], 0.75);
}

}  // namespace
}  // namespace gpt2::oracle
