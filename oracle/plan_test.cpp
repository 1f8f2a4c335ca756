// The conformance plan: within budget it is default_scenarios; beyond, the
// long groups are shortened or dropped in order of value, the plan says so,
// and it does not depend on what the truth cache holds.
#include "oracle/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/checkpoint.h"

namespace gpt2::oracle {
namespace {

using ::testing::HasSubstr;

// A fixed machine: 1 µs per 50-digit multiply-add, the rest far faster.
PlanSpeeds fixed_speeds() {
  PlanSpeeds s;
  s.threads = 2;
  s.digits50 = {1e-6, 1e-5};
  s.stochastic = {1e-8, 1e-7};
  s.float32 = {1e-9, 1e-8};
  s.float64 = {1e-9, 1e-8};
  s.measured = "fixed for the test";
  return s;
}

PlanOptions options(double budget_seconds) {
  PlanOptions o;
  o.preset = true;
  o.budget_seconds = budget_seconds;
  for (const auto& k : optimized::kernels()) o.sets.push_back(&k);
  return o;
}

std::vector<std::string> names(const ConformancePlan& plan) {
  std::vector<std::string> out;
  for (const auto& p : plan.scenarios) out.push_back(p.scenario.name);
  return out;
}

std::vector<std::string> names(const std::vector<Scenario>& scenarios) {
  std::vector<std::string> out;
  for (const auto& s : scenarios) out.push_back(s.name);
  return out;
}

TEST(Plan, WithinBudgetItIsTheDefaultScenarios) {
  const Config c = find_preset("small").config;
  const ConformancePlan plan = plan_conformance(c, options(1e9), fixed_speeds());
  EXPECT_TRUE(plan.full());
  EXPECT_EQ(names(plan), names(default_scenarios(c, 1, true)));
  EXPECT_DOUBLE_EQ(plan.seconds, plan.full_seconds);
  const auto lines = plan.lines(options(1e9), fixed_speeds());
  ASSERT_EQ(lines.size() >= 1, true);
  // Every scenario on every registered set (the sets come and go with
  // optimized/*_kernels.cpp).
  const size_t n = default_scenarios(c, 1, true).size();
  const std::string results = std::to_string(n * optimized::kernels().size()) + " results";
  EXPECT_THAT(lines[0], HasSubstr("plan: " + std::to_string(n) + " scenarios, " + results));
}

TEST(Plan, TheLongGroupIsShortenedThenDroppedAndThePlanSaysSo) {
  const Config c = find_preset("small").config;  // n_ctx 128
  const PlanSpeeds speeds = fixed_speeds();
  const ConformancePlan full = plan_conformance(c, options(1e9), speeds);
  // Budget: everything but the T=128 group, and a little more.
  double without_long = 0;
  for (const auto& p : full.scenarios)
    if (p.scenario.tokens.size() != 128) without_long += p.truth_seconds;
  const double budget = without_long + 0.3 * (full.seconds - without_long) / 4;
  const ConformancePlan cut = plan_conformance(c, options(budget), speeds);
  ASSERT_EQ(cut.changes.size(), 1u);
  EXPECT_THAT(cut.changes[0], HasSubstr("the T=128 scenarios shortened to T="));
  EXPECT_LE(cut.seconds, budget);
  for (const auto& p : cut.scenarios) EXPECT_LT(p.scenario.tokens.size(), 128u) << p.scenario.name;
  const auto lines = cut.lines(options(budget), speeds);
  EXPECT_THAT(lines.back(), HasSubstr("--full-context"));

  // A budget for T = 1 alone: the others are dropped or shortened, T = 1 kept.
  const ConformancePlan tiny_budget = plan_conformance(c, options(1e-9), speeds);
  ASSERT_FALSE(tiny_budget.scenarios.empty());
  EXPECT_EQ(tiny_budget.scenarios[0].scenario.name, "prefill T=1");
  EXPECT_EQ(tiny_budget.scenarios.size(), 1u);
  EXPECT_EQ(tiny_budget.changes.size(), 4u);  // T=7, act=gpt2, T=128 and the batches
  EXPECT_THAT(tiny_budget.changes, ::testing::Contains(HasSubstr("the batch scenarios dropped")));
  // --full-context ignores the budget.
  PlanOptions full_context = options(1e-9);
  full_context.full_context = true;
  EXPECT_TRUE(plan_conformance(c, full_context, speeds).full());
}

TEST(Plan, TheActivationScenariosComeBeforeTheLongOnes) {
  const Config c = find_preset("small").config;
  const PlanSpeeds speeds = fixed_speeds();
  const ConformancePlan full = plan_conformance(c, options(1e9), speeds);
  double short_and_act = 0;
  for (const auto& p : full.scenarios)
    if (p.scenario.tokens.size() <= 7) short_and_act += p.truth_seconds;
  const ConformancePlan cut = plan_conformance(c, options(short_and_act * 1.0001), speeds);
  const auto n = names(cut);
  EXPECT_NE(std::find(n.begin(), n.end(), "prefill T=7 act=gpt2"), n.end());
  EXPECT_EQ(std::find(n.begin(), n.end(), "prefill T=128"), n.end());
}

TEST(Plan, TheFilterLeavesOutWhatItDoesNotMatch) {
  const Config c = find_preset("tiny").config;
  PlanOptions o = options(1e9);
  o.filter = "prefill T=1 [eigen]";
  const ConformancePlan plan = plan_conformance(c, o, fixed_speeds());
  ASSERT_EQ(plan.scenarios.size(), 1u);
  EXPECT_EQ(plan.scenarios[0].results, 1);
}

// Sets judged under the same profile share its truth; each needs the given
// weights' f32 truth too (the profile's cost is measured against it).
TEST(Plan, TheTruthsFollowTheProfilesTheSetsAreJudgedUnder) {
  const Config c = find_preset("tiny").config;
  auto seconds = [&](std::vector<const char*> sets, std::optional<const char*> profile) {
    PlanOptions o = options(1e9);
    o.replay = false;
    o.filter = "prefill";  // single sequences: every scenario needs the same truths
    o.sets.clear();
    for (const char* name : sets) o.sets.push_back(&optimized::find_kernel(name));
    if (profile) o.profile = find_profile(*profile);
    return plan_conformance(c, o, fixed_speeds()).seconds;
  };
  const double one = seconds({"fast", "eigen"}, std::nullopt);
  ASSERT_GT(one, 0);
  EXPECT_DOUBLE_EQ(seconds({"fast", "eigen"}, "f32"), one);
  EXPECT_DOUBLE_EQ(seconds({"fast", "eigen"}, "ggml-f16"), 2 * one);  // f32 + ggml-f16
  EXPECT_DOUBLE_EQ(seconds({"ggml-f16", "f16kv"}, std::nullopt), 3 * one);
  EXPECT_DOUBLE_EQ(seconds({"f16kv", "fast"}, "f16-kv"), 2 * one);
  // ggml-f16 rounds its weights itself (to f16): under f16-kv, a truth of its own.
  EXPECT_DOUBLE_EQ(seconds({"ggml-f16", "f16kv", "fast"}, "f16-kv"), 3 * one);
}

TEST(Plan, TruthTimeGrowsWithTheSequenceAndReplay) {
  const Config c = find_preset("gpt2-124m-shape").config;
  const PlanSpeeds s = fixed_speeds();
  EXPECT_LT(truth_seconds(c, 7, Mask::causal, s, false),
            truth_seconds(c, 7, Mask::causal, s, true));
  EXPECT_LT(truth_seconds(c, 7, Mask::causal, s, true),
            truth_seconds(c, 64, Mask::causal, s, true));
}

}  // namespace
}  // namespace gpt2::oracle
