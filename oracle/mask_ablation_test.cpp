// The mask ablation's numbers agree with the README's claims ("Is the causal
// mask needed at inference?") on the built-in models: the last position is bit-identical in
// embed and block.0 and changes from block.1 on; every earlier position
// changes from block.0 on; a single decode step is the same with and without
// the mask, and a cache built by an unmasked prefill is not.
#include "oracle/mask_ablation.h"
#include "oracle/mask_ablation_report.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "reference/real.h"

namespace gpt2::oracle {
namespace {

using reference::Precision;

struct AblationCase {
  std::string model;
  std::vector<int> tokens;
  Precision precision;
};

std::string name(const AblationCase& c) {
  return c.model + " T=" + std::to_string(c.tokens.size()) + " precision " +
         reference::precision_name(c.precision);
}

std::vector<int> first_tokens(int T, int vocab_size) {
  std::vector<int> tokens;
  for (int t = 0; t < T; ++t) tokens.push_back((7 * t + 5) % vocab_size);
  return tokens;
}

MaskAblation ablate(const AblationCase& c) {
  MaskAblationOptions options;
  options.precision = c.precision;
  options.threads = 2;
  return run_mask_ablation(preset_weights(c.model), c.tokens, c.model, options);
}

std::vector<AblationCase> cases() {
  return {
      {"tiny", {5, 17, 3, 42, 8, 21, 60, 11}, Precision::digits50},
      {"tiny", {5, 17, 3, 42, 8, 21, 60}, Precision::digits100},
      {"tiny", {5, 17, 3, 42, 8}, Precision::f64},
      {"tiny", {5, 17, 3, 42, 8}, Precision::f32},
      {"tiny", first_tokens(32, 64), Precision::digits50},  // T = n_ctx
      {"small", {5, 300, 17, 511, 42, 8, 128, 99, 7}, Precision::digits50},
  };
}

TEST(MaskAblation, LastPositionUnchangedInEmbedAndBlock0ThenChangesFromBlock1) {
  for (const AblationCase& c : cases()) {
    SCOPED_TRACE(name(c));
    const MaskAblation a = ablate(c);
    const int T = static_cast<int>(c.tokens.size());
    const int L = preset_weights(c.model).config.n_layer;
    ASSERT_EQ(a.rows.size(), static_cast<size_t>(L + 3));
    ASSERT_EQ(a.rows[0].tensor, "embed");
    ASSERT_EQ(a.rows[1].tensor, "block.0");
    for (int t = 0; t < T; ++t) EXPECT_EQ(a.rows[0].relative_difference[t], 0) << "embed " << t;
    EXPECT_EQ(a.rows[1].relative_difference[T - 1], 0) << "block.0, last position";
    for (size_t r = 2; r < a.rows.size(); ++r)
      EXPECT_GT(a.rows[r].relative_difference[T - 1], 0) << a.rows[r].tensor << ", last position";
  }
}

TEST(MaskAblation, EveryEarlierPositionChangesFromBlock0On) {
  for (const AblationCase& c : cases()) {
    SCOPED_TRACE(name(c));
    const MaskAblation a = ablate(c);
    const int T = static_cast<int>(c.tokens.size());
    for (size_t r = 1; r < a.rows.size(); ++r)
      for (int t = 0; t < T - 1; ++t)
        EXPECT_GT(a.rows[r].relative_difference[t], 0) << a.rows[r].tensor << ", position " << t;
  }
}

TEST(MaskAblation, OneTokenHasNothingToMask) {
  const MaskAblation a = ablate({"tiny", {9}, Precision::digits50});
  for (const MaskAblationRow& r : a.rows) EXPECT_EQ(r.relative_difference.at(0), 0) << r.tensor;
  EXPECT_EQ(a.next_tokens.at(0).kl_divergence, 0);
  // A one-token prefill is a decode step: the continuations are identical.
  for (const DecodeStep& s : a.decode.steps) EXPECT_EQ(s.relative_difference, 0);
}

TEST(MaskAblation, SingleDecodeStepIsIdenticalButAnUnmaskedCacheIsNot) {
  for (const AblationCase& c : {AblationCase{"tiny", {5, 17, 3, 42, 8, 21, 60, 11}, Precision::f64},
                                AblationCase{"small", {5, 300, 17, 511, 42}, Precision::f64}}) {
    SCOPED_TRACE(name(c));
    const MaskAblation a = ablate(c);
    ASSERT_EQ(a.decode.continuation.size(), 4u);
    ASSERT_EQ(a.decode.steps.size(), 5u);
    EXPECT_EQ(a.decode.steps[0].token, -1);
    for (size_t k = 0; k < a.decode.steps.size(); ++k) {
      const DecodeStep& s = a.decode.steps[k];
      EXPECT_TRUE(s.one_query_pass_identical) << "step " << k;
      EXPECT_GT(s.relative_difference, 0) << "step " << k;
      if (k > 0) {
        EXPECT_EQ(s.token, a.decode.continuation[k - 1]);
      }
    }
  }
}

TEST(MaskAblation, DecodeStepsStopAtTheContext) {
  // tiny has n_ctx = 32: 30 tokens leave room for 2 decode steps, 32 for none.
  for (int T : {30, 32}) {
    const MaskAblation a = ablate({"tiny", first_tokens(T, 64), Precision::f64});
    EXPECT_EQ(a.decode.room, 32 - T);
    EXPECT_EQ(a.decode.continuation.size(), static_cast<size_t>(32 - T));
    EXPECT_EQ(a.decode.steps.size(), static_cast<size_t>(33 - T));
  }
}

TEST(MaskAblation, RelativeDifferenceIsZeroExactlyForBitIdenticalRows) {
  using reference::Real50;
  std::vector<Real50> a = {Real50(1), Real50(-2), Real50(3)};
  std::vector<Real50> b = a;
  EXPECT_EQ(relative_difference(a.data(), b.data(), 3), 0);
  // A change far below double's epsilon is seen at 50 digits. (-2 + 1e-40
  // keeps 168 - 133 = 35 bits of the 1e-40, hence the 1e-9.)
  b[1] += Real50("1e-40");
  const double r = relative_difference(a.data(), b.data(), 3);
  EXPECT_GT(r, 0);
  EXPECT_NEAR(r / (1e-40 / std::sqrt(14.0)), 1.0, 1e-9);
  // Scale invariance, and no underflow of the squares.
  std::vector<double> x = {1e-200, 2e-200}, y = {1e-200, 2.5e-200};
  EXPECT_NEAR(relative_difference(x.data(), y.data(), 2), 0.5e-200 / std::sqrt(1 + 6.25e-0) * 1e200,
              1e-15);
  std::vector<float> f = {0, 0}, g = {0, 0};
  EXPECT_EQ(relative_difference(f.data(), g.data(), 2), 0);
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(MaskAblation, SvgHasOneCellPerTableEntryAndHatchesExactZeros) {
  const MaskAblation a = ablate({"tiny", {5, 17, 3, 42, 8, 21, 60, 11}, Precision::digits50});
  const std::string svg = mask_ablation_svg(a);
  int zeros = 0;
  for (const MaskAblationRow& r : a.rows)
    for (double x : r.relative_difference) zeros += x == 0;
  EXPECT_EQ(count(svg, "<rect class=\"cell\""), static_cast<int>(a.rows.size() * 8));
  EXPECT_EQ(count(svg, "data-value=\"0\""), zeros);
  EXPECT_EQ(count(svg, "fill=\"url(#exact-zero)\"><title>"), zeros);
  EXPECT_EQ(zeros, 8 + 1);  // all of embed, and block.0's last position
  EXPECT_NE(svg.find(">position</text>"), std::string::npos);
  EXPECT_NE(svg.find(">tensor</text>"), std::string::npos);
  EXPECT_NE(svg.find("class=\"colour-bar\""), std::string::npos);
  EXPECT_EQ(svg.find("http://", svg.find("<svg") + 60), std::string::npos)
      << "self-contained: no external reference beyond the SVG namespace";
}

TEST(MaskAblation, JsonHoldsTheTableInForwardOrderAndTheDecodePart) {
  const MaskAblation a = ablate({"tiny", {5, 17, 3, 42, 8}, Precision::digits50});
  const nlohmann::json j = nlohmann::json::parse(mask_ablation_json(a));
  EXPECT_EQ(j["tokens"], nlohmann::json({5, 17, 3, 42, 8}));
  EXPECT_EQ(j["precision"], "50");
  const std::vector<std::string> names = {"embed", "block.0", "block.1", "ln_f", "logits"};
  ASSERT_EQ(j["rows"].size(), names.size());
  for (size_t r = 0; r < names.size(); ++r) {
    EXPECT_EQ(j["rows"][r]["tensor"], names[r]);
    ASSERT_EQ(j["rows"][r]["relative_difference"].size(), 5u);
    for (int t = 0; t < 5; ++t)
      EXPECT_EQ(j["rows"][r]["relative_difference"][t].get<double>(),
                a.rows[r].relative_difference[t]);
  }
  EXPECT_EQ(j["last_position"]["changes_from"], "block.1");
  EXPECT_EQ(j["decode"]["continuation"].size(), 4u);
  EXPECT_EQ(j["decode"]["steps"].size(), 5u);
  EXPECT_EQ(j["decode"]["single_step_identical"], true);
  EXPECT_GT(j["decode"]["max_relative_difference"].get<double>(), 0);
}

TEST(MaskAblation, ReportSentencesAreReadOffTheNumbers) {
  const MaskAblation a = ablate({"tiny", {5, 17, 3, 42, 8}, Precision::digits50});
  std::string text = format_mask_ablation(a);
  std::replace(text.begin(), text.end(), '\n', ' ');  // sentences are wrapped
  EXPECT_NE(text.find("positions 0-3 change from block.0 on"), std::string::npos) << text;
  EXPECT_NE(text.find("The last position (4) is bit-identical at 50 digits in embed and block.0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("changes from block.1 on"), std::string::npos) << text;
  EXPECT_NE(text.find("bit-identical logits at all 4 steps"), std::string::npos) << text;
  // A doctored table is described as it is, not as it should be.
  MaskAblation doctored = a;
  doctored.rows[1].relative_difference[4] = 1e-3;
  EXPECT_NE(format_mask_ablation(doctored).find("already changes in block.0"), std::string::npos);
}

}  // namespace
}  // namespace gpt2::oracle
