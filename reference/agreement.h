// Per tensor, the decimal digits on which two traces of one forward pass
// agree: floor(-log10(max|a - b| / max|b|)), computed in B's arithmetic
// (never rounded to double first), capped. B is the more precise trace.
// Used to certify a truth against a more precise one: 50 digits against
// 100 (fixtures/generate.cpp) and double-double against 50
// (oracle/dd_truth.h).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>
#include <vector>

#include "model/error.h"
#include "model/trace.h"
#include "reference/double_double.h"

namespace gpt2::reference {

// floor(-log10(ratio)) clamped to [0, cap]; cap for exact agreement.
inline int digits_of_agreement(double max_difference_to_scale, int cap) {
  if (!(max_difference_to_scale > 0)) return cap;  // exact agreement (or 0/0)
  const double digits = std::floor(-std::log10(max_difference_to_scale));
  return static_cast<int>(std::clamp(digits, 0.0, static_cast<double>(cap)));
}

// x exactly in Wide (a DoubleDouble is hi + lo: two exact conversions and an
// exact sum when Wide has ≥ 107 bits).
template <class Wide, class Narrow>
Wide widen(const Narrow& x) {
  if constexpr (std::is_same_v<Narrow, DoubleDouble>)
    return Wide(x.hi) + Wide(x.lo);
  else
    return static_cast<Wide>(x);
}

// max|a - b| / max|b| of one tensor, in B's arithmetic, rounded to double
// (0 when a = b; max|a - b| alone when b is all zeros).
template <class A, class B>
double relative_difference(const std::vector<A>& a, const std::vector<B>& b) {
  GPT2_CHECK(a.size() == b.size(), "traces of one pass have the same shapes");
  using std::abs;
  B max_difference = B(0), scale = B(0);
  for (size_t k = 0; k < a.size(); ++k) {
    const B d = abs(widen<B>(a[k]) - b[k]);
    if (d > max_difference) max_difference = d;
    const B m = abs(b[k]);
    if (m > scale) scale = m;
  }
  if (!(max_difference > B(0))) return 0;
  return static_cast<double>(scale > B(0) ? B(max_difference / scale) : max_difference);
}

// Per tensor in forward order: the digits on which a and b agree, capped.
template <class A, class B>
std::vector<int> agreeing_digits_per_tensor(const Trace<A>& a, const Trace<B>& b, int cap) {
  std::vector<const std::vector<A>*> as;
  std::vector<const std::vector<B>*> bs;
  for_each_trace_tensor(
      a, [&](const std::string&, const std::vector<A>& v, const Shape&) { as.push_back(&v); });
  for_each_trace_tensor(
      b, [&](const std::string&, const std::vector<B>& v, const Shape&) { bs.push_back(&v); });
  GPT2_CHECK(as.size() == bs.size(), "traces of one model have the same tensors");
  std::vector<int> out;
  for (size_t i = 0; i < as.size(); ++i)
    out.push_back(digits_of_agreement(relative_difference(*as[i], *bs[i]), cap));
  return out;
}

}  // namespace gpt2::reference
