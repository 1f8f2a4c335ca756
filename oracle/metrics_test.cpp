#include "oracle/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace gpt2::oracle {
namespace {

TEST(Metrics, Ulp32IsTheFloatSpacing) {
  EXPECT_EQ(ulp_f32(1.0), std::ldexp(1.0, -23));
  EXPECT_EQ(ulp_f32(-1.5), std::ldexp(1.0, -23));
  EXPECT_EQ(ulp_f32(1e-3), std::ldexp(1.0, -33));  // 2^-10 <= 1e-3 < 2^-9: spacing 2^-33
  EXPECT_EQ(ulp_f32(0.0), std::ldexp(1.0, -149));
}

TEST(Metrics, ExactValuesHaveZeroError) {
  const std::vector<double> t = {1, -2, 3, 0};
  const TensorMetrics m = compare_tensors(t, t);
  EXPECT_EQ(m.max_abs_error, 0);
  EXPECT_EQ(m.nmse, 0);
  EXPECT_DOUBLE_EQ(m.cosine, 1);
  EXPECT_EQ(m.first_non_finite, -1);
  EXPECT_EQ(m.scale, 3);
}

TEST(Metrics, WorstElementAndEveryMetricAreReported) {
  const std::vector<double> truth = {1.0, -2.0, 4.0, 1e-9};
  const std::vector<double> value = {1.0, -2.5, 4.25, 2e-9};
  const TensorMetrics m = compare_tensors(value, truth);
  EXPECT_EQ(m.max_abs_error, 0.5);
  EXPECT_EQ(m.worst_index, 1);
  EXPECT_EQ(m.worst_value, -2.5);
  EXPECT_EQ(m.worst_truth, -2.0);
  EXPECT_EQ(m.max_error_to_scale, 0.125);
  // 1e-9 is below kRelativeErrorFloor × 4: excluded from the relative error.
  EXPECT_EQ(m.max_relative_error, 0.25);
  EXPECT_EQ(m.max_ulp_error, 0.5 / std::ldexp(1.0, -22));  // spacing at 2 is 2^-22
  EXPECT_DOUBLE_EQ(m.nmse, (0.25 + 0.0625 + 1e-18) / (1 + 4 + 16 + 1e-18));
  EXPECT_LT(m.cosine, 1);
}

TEST(Metrics, NonFiniteValueIsLocatedBeforeAnyMetric) {
  const std::vector<double> truth = {1, 2, 3};
  const std::vector<double> value = {1, std::numeric_limits<double>::quiet_NaN(),
                                     std::numeric_limits<double>::infinity()};
  EXPECT_EQ(compare_tensors(value, truth).first_non_finite, 1);
}

TEST(Metrics, LogitsArgmaxTop5MarginAndKl) {
  // Two positions, V = 6.
  const std::vector<double> truth = {0, 1, 2, 3, 4, 5, /**/ 5, 4.9, 0, 0, 0, 0};
  const std::vector<double> value = {0, 1, 2, 3, 4, 5, /**/ 4.9, 5, 0, 0, 0, 0};
  const auto m = compare_logits(value, truth, 6);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].truth_argmax, 5);
  EXPECT_EQ(m[0].value_argmax, 5);
  EXPECT_EQ(m[0].top5_overlap, 5);
  EXPECT_EQ(m[0].kl_divergence, 0);
  EXPECT_DOUBLE_EQ(m[0].truth_margin, 1);
  EXPECT_EQ(m[1].truth_argmax, 0);
  EXPECT_EQ(m[1].value_argmax, 1);
  EXPECT_NEAR(m[1].truth_margin, 0.1, 1e-12);
  EXPECT_GT(m[1].kl_divergence, 0);
  // KL of two two-point-dominated distributions, computed by hand:
  // p ∝ (e^5, e^4.9, 4·e^0), q ∝ (e^4.9, e^5, 4).
  const double zp = std::exp(5) + std::exp(4.9) + 4;
  const double p0 = std::exp(5) / zp, p1 = std::exp(4.9) / zp, pz = 1 / zp;
  const double kl = p0 * std::log(p0 / p1) + p1 * std::log(p1 / p0) + 4 * pz * 0;
  EXPECT_NEAR(m[1].kl_divergence, kl, 1e-12);
}

}  // namespace
}  // namespace gpt2::oracle
