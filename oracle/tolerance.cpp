#include "oracle/tolerance.h"

#include <cstdio>

#include "oracle/metrics.h"

namespace gpt2::oracle {

Budget make_budget(double baseline_error, double shared_error, double term_scale) {
  Budget b;
  b.baseline_error = baseline_error;
  b.shared_error = shared_error;
  b.multiplier = kBudgetMultiplier;
  b.floor = kFloorUlps * ulp_f32(term_scale);
  return b;
}

const char* budget_rule_text(BudgetRule rule) {
  switch (rule) {
    case BudgetRule::chained_input_error:
      return "max |value - truth| <= k * baseline_error + floor + gain * input_error";
    case BudgetRule::excess_over_baseline:
      return "max |value - truth| <= k * baseline_error + floor + sum over inputs of gain * "
             "excess, excess = max(0, error - shared_error) where present, else what its "
             "inputs' excess becomes through it";
  }
  return "?";
}

std::string describe_budget_rule() {
  char text[512];
  std::snprintf(
      text, sizeof text,
      "max |value - truth| <= K x E + floor + sum of gain x excess of each input over "
      "its shared error; K = %g, floor = %g float32 ULPs of the magnitude of the tensor's "
      "terms; E = worst of the float32 reference, %d stochastic-rounding runs and "
      "reordered-sum runs (oracle/ensemble.h)",
      kBudgetMultiplier, kFloorUlps, kStochasticRuns);
  return text;
}

}  // namespace gpt2::oracle
