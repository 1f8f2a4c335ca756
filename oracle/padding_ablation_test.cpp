// The padding-mask ablation (padding_ablation.h): what it finds on tiny, in
// numbers and in the report's sentences.
#include "oracle/padding_ablation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/error.h"

namespace gpt2::oracle {
namespace {

using ::testing::HasSubstr;

// The report with its wrapped lines joined.
std::string report_of(const PaddingAblation& a) {
  std::string text = format_padding_ablation(a);
  for (char& c : text)
    if (c == '\n') c = ' ';
  return text;
}

PaddingAblation tiny_ablation(Padding padding) {
  PaddingAblationOptions options;
  options.precision = reference::Precision::f64;  // fast; the claims hold at any precision
  return run_padding_ablation(preset_weights("tiny"), {5, 17, 3, 42}, padding, 3, "tiny", options);
}

TEST(PaddingAblation, LeftPaddingChangesEveryRealPositionFromBlock0AndEveryDecodeStep) {
  const PaddingAblation a = tiny_ablation(Padding::left);
  ASSERT_EQ(a.rows.front().tensor, "embed");
  for (double x : a.rows[0].relative_difference) EXPECT_EQ(x, 0);  // position ids unchanged
  for (size_t r = 1; r < a.rows.size(); ++r)
    for (double x : a.rows[r].relative_difference) EXPECT_GT(x, 0) << a.rows[r].tensor;
  ASSERT_EQ(a.decode.steps.size(), 5u);
  for (size_t k = 1; k < a.decode.steps.size(); ++k) {
    EXPECT_GT(a.decode.steps[k].relative_difference, 0);
    EXPECT_FALSE(a.decode.steps[k].one_query_pass_identical) << "step " << k;
  }
  const std::string text = report_of(a);
  EXPECT_THAT(text, HasSubstr("positions 0-3 change from block.0 on"));
  EXPECT_THAT(text, HasSubstr("the padding mask is needed at every decode step"));
  EXPECT_TRUE(nlohmann::json::accept(padding_ablation_json(a)));
  EXPECT_THAT(padding_ablation_svg(a), HasSubstr("<svg"));
}

TEST(PaddingAblation, RightPaddingIsHiddenByTheCausalMaskAndOverwrittenInDecode) {
  const PaddingAblation a = tiny_ablation(Padding::right);
  for (const auto& row : a.rows)
    for (double x : row.relative_difference) EXPECT_EQ(x, 0) << row.tensor;
  for (size_t k = 1; k < a.decode.steps.size(); ++k) {
    EXPECT_EQ(a.decode.steps[k].relative_difference, 0);
    EXPECT_TRUE(a.decode.steps[k].one_query_pass_identical);
  }
  EXPECT_THAT(report_of(a), HasSubstr("the causal mask already hides them"));
}

TEST(PaddingAblation, RejectsPaddingThatDoesNotFit) {
  PaddingAblationOptions options;
  EXPECT_THROW(
      run_padding_ablation(preset_weights("tiny"), {1, 2}, Padding::left, 31, "tiny", options),
      InputError);
  EXPECT_THROW(
      run_padding_ablation(preset_weights("tiny"), {1, 2}, Padding::left, 0, "tiny", options),
      InputError);
}

}  // namespace
}  // namespace gpt2::oracle
