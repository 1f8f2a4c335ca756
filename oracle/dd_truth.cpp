#include "oracle/dd_truth.h"

#include <algorithm>
#include <cmath>

#include "model/error.h"
#include "reference/agreement.h"
#include "reference/real.h"

namespace gpt2::oracle {

double dd_error_bound(const Budget& b) {
  return (b.multiplier * b.baseline_error + b.floor) * kDdOverFloat32Rounding * kDdBoundSafety;
}

template <class Wide>
std::vector<int> dd_agreement_digits(const Trace<reference::DoubleDouble>& dd,
                                     const Trace<Wide>& truth50, int checked) {
  GPT2_CHECK(truth50.n_tokens == checked && checked <= dd.n_tokens, "a prefix of the dd pass");
  return reference::agreeing_digits_per_tensor(trace_rows(dd, 0, checked), truth50, 50);
}

template std::vector<int> dd_agreement_digits(const Trace<reference::DoubleDouble>&,
                                              const Trace<reference::Real50>&, int);

std::vector<int> dd_bound_digits(const std::vector<Budget>& budgets, const Trace<double>& truth,
                                 int cap) {
  std::vector<int> out;
  size_t i = 0;
  for_each_trace_tensor(truth, [&](const std::string&, const std::vector<double>& v, const Shape&) {
    GPT2_CHECK(i < budgets.size(), "a budget per tensor");
    double scale = 0;
    for (double x : v) scale = std::max(scale, std::fabs(x));
    const double bound = dd_error_bound(budgets[i++]);
    out.push_back(reference::digits_of_agreement(scale > 0 ? bound / scale : bound, cap));
  });
  return out;
}

}  // namespace gpt2::oracle
