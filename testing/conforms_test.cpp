// GPT2_ORACLE_EXPECT_CONFORMS: a correct set passes; a wrong one fails the
// test with the located finding (scenario, tensor, layer, position, ratio)
// and replay's verdict per op and layer.
#include <gmock/gmock.h>
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include "gpt2_oracle/testing.h"
#include "optimized/eigen_kernels.h"

namespace {

using ::testing::HasSubstr;

// A correct set from outside the registry: eigen's kernels, unregistered.
class CopyOfEigen : public gpt2::optimized::EigenKernels {
 public:
  using EigenKernels::EigenKernels;
};

// A wrong one: attention scores not scaled by 1/sqrt(HS).
class UnscaledScores : public gpt2::optimized::EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  float score_scale() const override { return 1.0f; }
};

std::unique_ptr<gpt2::optimized::Kernels> unscaled_factory(const gpt2::Weights<float>& w,
                                                           gpt2::optimized::ThreadPool&) {
  return std::make_unique<UnscaledScores>(w);
}

TEST(ExpectConforms, ACorrectSetPasses) {
  GPT2_ORACLE_EXPECT_CONFORMS(gpt2::check::kernel_set<CopyOfEigen>("copy-of-eigen"), "tiny");
}

TEST(ExpectConforms, AWrongSetFailsWithTheLocatedFindingAndReplaysVerdict) {
  gpt2::check::ConformanceCheck check("tiny");
  check.filter = "prefill T=7";
  const ::testing::AssertionResult r = gpt2::check::assert_conforms(
      "unscaled_factory", "check", gpt2::check::KernelsUnderTest(unscaled_factory), check);
  ASSERT_FALSE(r);
  const std::string message = r.message();
  // The factory is named by its text; the finding by scenario, tensor, layer, position.
  EXPECT_THAT(message, HasSubstr("conformance of kernel set 'unscaled_factory' on tiny (seed 1): "
                                 "4 of 4 scenarios fail"));
  EXPECT_THAT(message, HasSubstr("  prefill T=7: FAIL at block.0 attn, position 1: max error "));
  // Replay names the op and its layers.
  EXPECT_THAT(message, HasSubstr("    replay: attention beyond budget in blocks 0,1"));
}

TEST(ExpectConforms, TheMacroFailsTheTest) {
  EXPECT_NONFATAL_FAILURE(
      GPT2_ORACLE_EXPECT_CONFORMS(unscaled_factory, gpt2::check::ConformanceCheck("tiny")),
      "FAIL at block.0 attn, position 1");
}

TEST(ExpectConforms, AnUnknownModelFailsNamingIt) {
  const auto r = gpt2::check::conforms(gpt2::check::kernel_set<CopyOfEigen>("c"), "no-such-model");
  ASSERT_FALSE(r);
  EXPECT_THAT(r.message(), HasSubstr("unknown preset 'no-such-model'"));
}

}  // namespace
