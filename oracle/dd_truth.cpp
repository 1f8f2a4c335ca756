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
  std::vector<const std::vector<reference::DoubleDouble>*> a;
  std::vector<const std::vector<Wide>*> b;
  for_each_trace_tensor(dd,
                        [&](const std::string&, const auto& v, const Shape&) { a.push_back(&v); });
  for_each_trace_tensor(truth50,
                        [&](const std::string&, const auto& v, const Shape&) { b.push_back(&v); });
  GPT2_CHECK(a.size() == b.size(), "traces of one model have the same tensors");
  std::vector<int> out;
  for (size_t i = 0; i < a.size(); ++i) {
    // Every trace tensor is [T, width]: its first `checked` rows are the
    // first checked·width elements.
    const size_t width = a[i]->size() / static_cast<size_t>(dd.n_tokens);
    GPT2_CHECK(b[i]->size() == width * static_cast<size_t>(checked), "prefix rows");
    const std::vector<reference::DoubleDouble> rows(a[i]->begin(), a[i]->begin() + b[i]->size());
    out.push_back(reference::digits_of_agreement(reference::relative_difference(rows, *b[i]), 50));
  }
  return out;
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
