#include "oracle/flips.h"

#include <gtest/gtest.h>

#include <cmath>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/profile.h"
#include "oracle/budget.h"
#include "oracle/compare.h"

namespace gpt2::oracle {
namespace {

TEST(RoundingSpread, IsOneUnitNearOneBoundaryAndMoreAcrossSeveral) {
  const double x = 1 + std::ldexp(1.0, -9);  // 2^-9 from the bf16 boundary above
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, x, std::ldexp(1.0, -12)), 0.0);
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, -x, std::ldexp(1.0, -8)), std::ldexp(1.0, -7));
  // Below 1 the spacing halves: the boundary under 1 is 1 - 2^-9, not 1 - 2^-8.
  const double below = 1 - std::ldexp(1.0, -10);  // rounds to 1, 2^-10 above that boundary
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, below, std::ldexp(1.0, -11)), 0.0);
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, below, std::ldexp(1.0, -10) * 1.001),
            std::ldexp(1.0, -8));
  // At exactly 2^-9 x + noise is the tie, which goes to the even 1: just beyond it flips.
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, x, std::ldexp(1.0, -9)), 0.0);
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, x, std::ldexp(1.0, -9) * 1.001),
            std::ldexp(1.0, -7));
  // Noise of three units reaches three values away on the way up.
  EXPECT_EQ(rounding_spread(FloatFormat::bf16, 1.5, 3 * std::ldexp(1.0, -7)),
            3 * std::ldexp(1.0, -7));
}

TEST(FlipSize, IsTheLargestUnitAmongTheValuesAtRisk) {
  const double at_risk = 1 + std::ldexp(1.0, -8), far = 3.0 + std::ldexp(1.0, -20);
  EXPECT_EQ(flip_size(FloatFormat::bf16, {at_risk, far}, 1e-12), std::ldexp(1.0, -7));
  EXPECT_EQ(flip_size(FloatFormat::bf16, {far}, 1e-12), 0.0);
  EXPECT_EQ(flip_size(FloatFormat::f32, {at_risk}, 1.0), 0.0);  // no rounding point
}

// Which tensors each point's allowance reaches (flips.h's table): with every
// value at risk (an enormous E), each point adds exactly gain × F of the
// values it rounds (flip_size, at the rounded tensor's own allowance), and
// only to the tensors it feeds.
class FlipAllowanceWiring : public ::testing::Test {
 protected:
  // bf16's spacing in [2^19, 2^20), where 1e6 lies: 2^(19 - 7).
  static constexpr double kBf16UnitAtAMillion = 4096;
  static constexpr int kTensorsPerBlock = 7;
  Config config{2, 2, 8, 8, 16, 1e-5, "gelu_new"};
  std::vector<int> tokens{3, 1, 4, 1, 5};

  // The budgets of a truth under `profile`, every value at risk.
  std::pair<Reference, std::vector<Budget>> at_risk(const Profile& profile) {
    const Weights<float> w = round_weights(seeded_weights(config, 7), profile);
    Reference r = compute_reference(w, tokens, Mask::causal, 1, 1, false, {}, profile);
    std::vector<Budget> budgets = r.budgets;
    for (Budget& b : budgets) {
      b.baseline_error = 1e6;
      b.flip_allowance = 0;
    }
    add_flip_allowances(budgets, r.truth, w, tokens, profile, 1, 1);
    return {std::move(r), budgets};
  }
  static Profile only(const char* name) {
    Profile p;
    p.name = name;
    return p;
  }
  // F of `v` at the allowance of `b`, the budget of the tensor `v` is in.
  static double spread(FloatFormat f, const std::vector<double>& v, const Budget& b) {
    return flip_size(f, v, b.multiplier * b.baseline_error + b.floor);
  }
};

TEST_F(FlipAllowanceWiring, F32GivesNone) {
  const auto [r, budgets] = at_risk(find_profile("f32"));
  for (const Budget& b : r.budgets) EXPECT_EQ(b.flip_allowance, 0.0);
  for (const Budget& b : budgets) EXPECT_EQ(b.flip_allowance, 0.0);
}

TEST_F(FlipAllowanceWiring, KvCacheReachesAttentionOnly) {
  Profile p = only("kv");
  p.kv_cache = FloatFormat::f16;
  const auto [r, budgets] = at_risk(p);
  const int C = config.n_embd, T = static_cast<int>(tokens.size());
  for (int l = 0; l < config.n_layer; ++l) {
    std::vector<double> kv;
    for (int t = 0; t < T; ++t)
      for (int c = C; c < 3 * C; ++c) kv.push_back(r.truth.ops[l].qkv[size_t(t) * 3 * C + c]);
    const Budget& attn = budgets[1 + kTensorsPerBlock * l + 2];
    EXPECT_DOUBLE_EQ(
        attn.flip_allowance,
        attn.inputs[0].gain * spread(FloatFormat::f16, kv, budgets[1 + kTensorsPerBlock * l + 1]));
    EXPECT_GT(attn.flip_allowance, 0);
  }
  int reached = 0;
  for (const Budget& b : budgets) reached += b.flip_allowance > 0;
  EXPECT_EQ(reached, config.n_layer);
}

TEST_F(FlipAllowanceWiring, MatmulInputsReachEachProductsOutput) {
  Profile p = only("mm");
  p.matmul_inputs = FloatFormat::bf16;
  const auto [r, budgets] = at_risk(p);
  const int L = config.n_layer;
  // The consumers: qkv (k 1), mid (3), gelu (5), block (6) of each block, and the logits.
  for (int l = 0; l < L; ++l) {
    const int base = 1 + kTensorsPerBlock * l;
    const BlockOps<double>& o = r.truth.ops[l];
    EXPECT_DOUBLE_EQ(
        budgets[base + 1].flip_allowance,
        budgets[base + 1].inputs[0].gain * spread(FloatFormat::bf16, o.ln_1, budgets[base]));
    EXPECT_DOUBLE_EQ(
        budgets[base + 3].flip_allowance,
        budgets[base + 3].inputs[1].gain * spread(FloatFormat::bf16, o.attn, budgets[base + 2]));
    EXPECT_DOUBLE_EQ(
        budgets[base + 5].flip_allowance,
        budgets[base + 5].inputs[0].gain * spread(FloatFormat::bf16, o.ln_2, budgets[base + 4]));
    EXPECT_DOUBLE_EQ(
        budgets[base + 6].flip_allowance,
        budgets[base + 6].inputs[1].gain * spread(FloatFormat::bf16, o.gelu, budgets[base + 5]));
    for (int k : {0, 2, 4}) EXPECT_EQ(budgets[base + k].flip_allowance, 0.0);
  }
  EXPECT_EQ(budgets[0].flip_allowance, 0.0);                         // embed
  EXPECT_EQ(budgets[1 + kTensorsPerBlock * L].flip_allowance, 0.0);  // ln_f
  EXPECT_DOUBLE_EQ(budgets.back().flip_allowance,                    // logits
                   budgets.back().inputs[0].gain *
                       spread(FloatFormat::bf16, r.truth.ln_f, budgets[1 + kTensorsPerBlock * L]));
}

TEST_F(FlipAllowanceWiring, ResidualReachesTheStreamItself) {
  Profile p = only("residual");
  p.residual = FloatFormat::bf16;
  const auto [r, budgets] = at_risk(p);
  // The truth keeps the rounded stream, which rounds to itself: at an
  // allowance this large, F is as far from the pre-rounding value's as
  // from the rounded one's (every value spans many units).
  EXPECT_GT(budgets[0].flip_allowance, 0);
  EXPECT_NEAR(budgets[0].flip_allowance, spread(FloatFormat::bf16, r.truth.embed, budgets[0]),
              kBf16UnitAtAMillion);
  for (int l = 0; l < config.n_layer; ++l) {
    const int base = 1 + kTensorsPerBlock * l;
    EXPECT_NEAR(budgets[base + 3].flip_allowance,
                spread(FloatFormat::bf16, r.truth.ops[l].mid, budgets[base + 3]),
                kBf16UnitAtAMillion);
    EXPECT_NEAR(budgets[base + 6].flip_allowance,
                spread(FloatFormat::bf16, r.truth.block[l], budgets[base + 6]),
                kBf16UnitAtAMillion);
    for (int k : {0, 1, 2, 4, 5}) EXPECT_EQ(budgets[base + k].flip_allowance, 0.0);
  }
}

TEST_F(FlipAllowanceWiring, GeluTableReachesGeluOnly) {
  const auto [r, budgets] = at_risk(find_profile("f16-gelu-table"));
  for (int l = 0; l < config.n_layer; ++l) {
    const int base = 1 + kTensorsPerBlock * l;
    EXPECT_GT(budgets[base + 5].flip_allowance, 0);
    for (int k : {0, 1, 2, 3, 4, 6}) EXPECT_EQ(budgets[base + k].flip_allowance, 0.0);
  }
}

// The flips of a traced rounded tensor follow the error the trace has there
// (flips.h): ln_f's truth lies 2^-20 below the bf16 boundary 1 + 2^-8, its
// own allowance (2e-9) cannot reach it, but an inherited error can: embed's
// excess through a gain of 1000 admits 1.5e-6 in ln_f, and an engine that
// uses it rounds ln_f to 1 + 2^-7 instead of 1, moving the logits (gain 1)
// by 2^-7.
class FlipsAtJudgement : public ::testing::Test {
 protected:
  static constexpr double kUnit = 0x1p-7;  // bf16's spacing in [1, 2)
  const Config config{0, 1, 1, 1, 1, 1e-5, "gelu_new"};
  Trace<double> truth = make_trace<double>(config, 1);
  std::vector<Budget> budgets = std::vector<Budget>(3);  // embed, ln_f, logits

  void SetUp() override {
    truth.embed = {0.5};
    truth.ln_f = {1 + 0x1p-8 - 0x1p-20};  // rounds to 1
    truth.logits = {1};
    for (Budget& b : budgets) {
      b.baseline_error = 1e-9;
      b.shared_error = 0;
      b.floor = 0;
    }
    budgets[1].inputs = {{0, 1000}};
    budgets[2].inputs = {{1, 1}};
    Profile autocast = find_profile("bf16-autocast");
    set_flip_edges(budgets, autocast, 0);
  }
  // A correct engine's trace: embed 1.5e-9 off, ln_f `ln_f_error` off and
  // rounded to the neighbour when that crosses the boundary.
  Trace<double> engine(double ln_f_error) const {
    Trace<double> t = truth;
    t.embed[0] += 1.5e-9;
    t.ln_f[0] += ln_f_error;
    t.logits[0] +=
        round_to(FloatFormat::bf16, t.ln_f[0]) - round_to(FloatFormat::bf16, truth.ln_f[0]);
    return t;
  }
};

TEST_F(FlipsAtJudgement, AFlipWithinTheInheritedErrorPasses) {
  ASSERT_EQ(budgets[2].flip_edges.size(), 1u);
  const TraceComparison c = compare_traces(engine(1.2e-6), truth, budgets, Mask::causal);
  EXPECT_TRUE(c.passed()) << c.summary();
  EXPECT_EQ(c.tensors[2].budget.flip_allowance, kUnit);
  // Without the edge the flip is beyond the logits' budget.
  std::vector<Budget> without = budgets;
  without[2].flip_edges.clear();
  EXPECT_FALSE(compare_traces(engine(1.2e-6), truth, without, Mask::causal).passed());
}

TEST_F(FlipsAtJudgement, AnErrorThatDoesNotReachTheBoundaryAddsNothing) {
  const TraceComparison c = compare_traces(engine(5e-7), truth, budgets, Mask::causal);
  EXPECT_TRUE(c.passed()) << c.summary();
  EXPECT_EQ(c.tensors[2].budget.flip_allowance, 0.0);
}

TEST_F(FlipsAtJudgement, AnErrorBeyondTheRoundedTensorsLimitIsAFindingThere) {
  const TraceComparison c = compare_traces(engine(3e-6), truth, budgets, Mask::causal);
  ASSERT_FALSE(c.passed());
  EXPECT_EQ(c.tensors[size_t(c.first_finding)].name, "ln_f");
}

TEST_F(FlipsAtJudgement, AnAbsentRoundedTensorMayHaveFlippedWithinItsLimit) {
  // A logits-only trace of the same engine: ln_f's limit (2e-9 + its
  // inherited part; embed absent too hands nothing on) cannot reach the
  // boundary, the flip is a finding; with embed present it can.
  const Trace<double> t = engine(1.2e-6);
  EXPECT_FALSE(compare_traces(t, truth, budgets, Mask::causal, {false, false, true}).passed());
  const TraceComparison c = compare_traces(t, truth, budgets, Mask::causal, {true, false, true});
  EXPECT_TRUE(c.passed()) << c.summary();
  EXPECT_EQ(c.tensors[2].budget.flip_allowance, kUnit);
}

TEST(FlipAllowance, AttentionProbabilitiesAreRefusedBeforeAnyWork) {
  Profile p;
  p.name = "probs";
  p.attention_probs = FloatFormat::bf16;
  const Config c{1, 1, 4, 4, 8, 1e-5, "gelu_new"};
  const Weights<float> w = seeded_weights(c, 1);
  const std::vector<int> tokens = {1, 2};
  const TruthPrecision fifty;
  EXPECT_THROW(compute_reference(w, tokens, Mask::causal, 1, 1, false, fifty, p), InputError);
}

}  // namespace
}  // namespace gpt2::oracle
