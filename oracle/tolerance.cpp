#include "oracle/tolerance.h"

#include <cstdio>

#include "oracle/metrics.h"

namespace gpt2::oracle {

Budget make_budget(double baseline_error, double term_scale) {
  Budget b;
  b.baseline_error = baseline_error;
  b.multiplier = kBudgetMultiplier;
  b.floor = kFloorUlps * ulp_f32(term_scale);
  return b;
}

std::string describe_budget_rule() {
  char text[256];
  std::snprintf(text, sizeof text,
                "max |value - truth| <= K x E_baseline + floor + gain x input error; K = %g, "
                "floor = %g float32 ULPs of the magnitude of the tensor's terms; E_baseline = "
                "worst of the float32 reference and %d stochastic-rounding runs",
                kBudgetMultiplier, kFloorUlps, kStochasticRuns);
  return text;
}

}  // namespace gpt2::oracle
