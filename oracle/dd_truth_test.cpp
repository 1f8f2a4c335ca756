// The dd truth tier end to end at the oracle: a dd truth certifies itself
// (50-digit agreement on the first positions, the a-priori bound after
// them), rounds to the same doubles as the 50-digit truth, and the bound's
// digits follow its formula.
#include "oracle/dd_truth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/checkpoint.h"
#include "oracle/budget.h"

namespace gpt2::oracle {
namespace {

TEST(DdTruth, CertifiesItselfAndRoundsLikeTheFiftyDigitTruth) {
  const Weights<float> w = preset_weights("tiny");
  const std::vector<int> tokens = {3, 0, 63, 17, 5, 40, 9, 22, 61, 1, 30, 12};
  TruthPrecision dd;
  dd.precision = reference::Precision::dd;
  dd.dd_checked_tokens = 4;  // the rest rests on the bound
  const Reference r = compute_reference(w, tokens, Mask::causal, 1, 2, false, dd);
  ASSERT_EQ(r.truth_precision, "dd");
  EXPECT_EQ(r.checked_tokens, 4);
  ASSERT_EQ(r.certified_digits.size(), r.budgets.size());
  const int worst = *std::min_element(r.certified_digits.begin(), r.certified_digits.end());
  std::printf("tiny, 12 tokens, 4 checked: dd truth certified to >= %d digits\n", worst);
  EXPECT_GE(worst, kMinDdCertifiedDigits);

  const Reference fifty = compute_reference(w, tokens, Mask::causal, 1, 2, false);
  EXPECT_EQ(fifty.truth_precision, "50");
  EXPECT_TRUE(fifty.certified_digits.empty());
  // 32 digits round to the 50-digit truth's doubles (a double has 17); a
  // value within 1e-28 of a rounding boundary could differ by one ulp.
  size_t i = 0;
  for_each_trace_tensor(
      r.truth, [&](const std::string& name, const std::vector<double>& v, const Shape&) {
        const std::vector<double>* other = nullptr;
        for_each_trace_tensor(
            fifty.truth, [&](const std::string& n, const std::vector<double>& u, const Shape&) {
              if (n == name) other = &u;
            });
        ASSERT_NE(other, nullptr);
        for (size_t k = 0; k < v.size(); ++k)
          EXPECT_LE(std::fabs(v[k] - (*other)[k]), std::fabs((*other)[k]) * 0x1p-52) << name << k;
        // The budgets are those of the 50-digit truth (they rest on doubles).
        EXPECT_EQ(r.budgets[i].baseline_error, fifty.budgets[i].baseline_error) << name;
        ++i;
      });
}

TEST(DdTruth, BoundDigitsFollowTheFloat32BudgetScaled) {
  Budget b;
  b.baseline_error = 1e-6;
  b.multiplier = 2;
  b.floor = 0;
  // 2e-6 · 16·2⁻¹⁰⁶ / 2⁻²⁴ · 1e3 ≈ 6.6e-27 of a tensor whose max is 1: 26 digits.
  EXPECT_NEAR(dd_error_bound(b), 2e-6 * 16 * std::ldexp(1.0, -82) * 1e3, 1e-40);
  Trace<double> t = make_trace<double>(preset_weights("tiny").config, 1, TraceLevel::ops);
  for_each_trace_tensor(t, [](const std::string&, std::vector<double>& v, const Shape&) {
    std::fill(v.begin(), v.end(), 1.0);
  });
  const size_t n = trace_tensor_names(2, TraceLevel::ops).size();
  const std::vector<int> digits = dd_bound_digits(std::vector<Budget>(n, b), t, 50);
  for (int d : digits) EXPECT_EQ(d, 26);
  b.baseline_error = 10;  // a float32 budget 20x the tensor (ill-conditioned): 19 digits
  for (int d : dd_bound_digits(std::vector<Budget>(n, b), t, 50))
    EXPECT_LT(d, kMinDdCertifiedDigits);
}

}  // namespace
}  // namespace gpt2::oracle
