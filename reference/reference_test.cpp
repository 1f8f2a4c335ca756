// reference::run: precision names, input errors, conversion to double.
#include "reference/reference.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "model/checkpoint.h"
#include "model/error.h"
#include "reference/forward.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::test_seed;

TEST(ReferenceTest, PrecisionParsesTheCliNames) {
  for (Precision p : {Precision::f32, Precision::f64, Precision::digits50, Precision::digits100})
    EXPECT_EQ(parse_precision(precision_name(p)), p);
  EXPECT_EQ(parse_precision("50"), Precision::digits50);
  for (const char* bad : {"", "f16", "64", "50 ", "double", "1000"})
    EXPECT_THROW(parse_precision(bad), InputError) << "'" << bad << "'";
}

// The message names the offending token's index and value.
TEST(ReferenceTest, RejectsOutOfRangeTokensNamingTheIndex) {
  const Weights<float> w = seeded_weights(make_config(1, 1, 4, 4, 8), test_seed(41));
  try {
    run(w, {1, 2, 8}, Precision::digits50);
    FAIL() << "token 8 is outside a vocabulary of 8";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("token 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("8"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run(w, {-1}, Precision::f64), InputError);
  EXPECT_THROW(forward<double>(w, {0, 9}, {}), InputError);
}

TEST(ReferenceTest, RejectsMoreTokensThanTheContextAndNoTokens) {
  const Weights<float> w = seeded_weights(make_config(1, 1, 4, 4, 8), test_seed(42));
  EXPECT_THROW(run(w, {1, 2, 3, 4, 5}, Precision::f64), InputError);
  EXPECT_THROW(run(w, {}, Precision::f64), InputError);
  EXPECT_NO_THROW(run(w, {1, 2, 3, 4}, Precision::f64));  // T = n_ctx is fine
}

TEST(ReferenceTest, RejectsChunkedMode) {
  const Weights<float> w = seeded_weights(make_config(1, 1, 4, 4, 8), test_seed(43));
  Options options;
  options.mode = Mode::chunked;
  EXPECT_THROW(run(w, {1, 2}, Precision::f64, options), InputError);
}

// run() is forward<Real> on the stored weights, rounded to double.
TEST(ReferenceTest, RunReturnsTheForwardPassRoundedToDouble) {
  const Config config = make_config(2, 2, 8, 8, 16);
  const Weights<float> w = seeded_weights(config, test_seed(44));
  const std::vector<int> tokens = {3, 0, 15};
  Options options;
  options.mode = Mode::incremental;
  const Trace<double> via_run = run(w, tokens, Precision::digits50, options);
  const Trace<double> direct = convert_trace<double>(forward<Real50>(w, tokens, options));
  EXPECT_EQ(via_run.n_tokens, 3);
  EXPECT_EQ(via_run.n_embd, 8);
  EXPECT_EQ(via_run.vocab_size, 16);
  EXPECT_EQ(via_run.n_layer(), 2);
  EXPECT_EQ(via_run.embed, direct.embed);
  EXPECT_EQ(via_run.block, direct.block);
  EXPECT_EQ(via_run.ln_f, direct.ln_f);
  EXPECT_EQ(via_run.logits, direct.logits);
  // Each precision runs, and its logits agree with the 50-digit ones to its
  // own accuracy: max |x - x50| / max |x50| (scaled_difference) at most
  //  - digits100: 2^-52. The 50- and 100-digit runs agree to at least 45
  //    digits (ConvergenceTest.FiftyAndHundredDigitsAgreeTo45Digits), so once
  //    each is rounded to double they differ by at most one rounding of each,
  //    2 · 2^-53 of the element;
  //  - f64: 1e-13, the bound ConvergenceTest.DoubleAgreesWithFiftyDigitsToAbout1e13
  //    derives for double (a rounding of 2^-53 ≈ 1.1e-16, through sums of a
  //    few dozen terms and LayerNorms that amplify by up to ~50: ~900
  //    roundings' worth);
  //  - f32: the same ~900 roundings of float's 2^-24: 1e-13 · 2^29 ≈ 5.4e-5.
  // (One 1e-5 for all three used to hide a wrong precision: f64 or 100 digits
  // computed in float would have passed it.)
  struct PrecisionBound {
    Precision precision;
    double max_scaled_difference;
  };
  for (const PrecisionBound& row :
       {PrecisionBound{Precision::digits100, 0x1p-52}, PrecisionBound{Precision::f64, 1e-13},
        PrecisionBound{Precision::f32, 1e-13 * 0x1p29}}) {
    const Trace<double> other = run(w, tokens, row.precision, options);
    const double scaled =
        static_cast<double>(testing::scaled_difference(other.logits, direct.logits));
    std::printf("%s vs 50 digits: logits differ by %.2e of their scale (bound %.2e)\n",
                precision_name(row.precision), scaled, row.max_scaled_difference);
    EXPECT_LE(scaled, row.max_scaled_difference) << precision_name(row.precision);
  }
}

TEST(ReferenceTest, ProgressGoesToStderrOnlyWhenAsked) {
  const Weights<float> w = seeded_weights(make_config(2, 1, 4, 4, 8), test_seed(45));
  ::testing::internal::CaptureStderr();
  run(w, {1, 2}, Precision::f64);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  Options options;
  options.progress = true;
  ::testing::internal::CaptureStderr();
  run(w, {1, 2}, Precision::digits50, options);
  const std::string progress = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(progress.find("block 2/2"), std::string::npos) << progress;
  EXPECT_NE(progress.find("50"), std::string::npos) << progress;
}

}  // namespace
}  // namespace gpt2::reference
