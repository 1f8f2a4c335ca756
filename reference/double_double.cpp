#include "reference/double_double.h"

#include <mpfr.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gpt2::reference {

namespace {

// An MPFR number of 240 bits: more than twice DoubleDouble's 106, so a
// double-double converts into it exactly and a decimal rounds into it with
// room to spare before the final split.
class Wide {
 public:
  Wide() { mpfr_init2(v_, 240); }
  ~Wide() { mpfr_clear(v_); }
  Wide(const Wide&) = delete;
  Wide& operator=(const Wide&) = delete;
  mpfr_ptr get() { return v_; }

  // The nearest double-double: hi = RN(v), lo = RN(v - hi). v - hi is exact
  // at 240 bits, so hi + lo is v to within ulp(lo)/2 and |lo| ≤ ulp(hi)/2.
  DoubleDouble split() {
    const double hi = mpfr_get_d(v_, MPFR_RNDN);
    mpfr_sub_d(v_, v_, hi, MPFR_RNDN);
    const double lo = mpfr_get_d(v_, MPFR_RNDN);
    mpfr_add_d(v_, v_, hi, MPFR_RNDN);
    return {hi, lo};
  }
  void set(const DoubleDouble& x) {
    mpfr_set_d(v_, x.hi, MPFR_RNDN);
    mpfr_add_d(v_, v_, x.lo, MPFR_RNDN);  // exact: 240 bits hold hi + lo
  }

 private:
  mpfr_t v_;
};

// ln 2 = kLn2[0] + kLn2[1] + kLn2[2] + O(2⁻¹⁶⁰): the first part has 32
// significant bits, so k·kLn2[0] is exact for |k| < 2²¹; the second enters
// through an exact TwoProd; the third's product is rounded, an error of
// u·|k|·2⁻⁸⁵ at most.
struct Ln2Parts {
  std::array<double, 3> part{};
  Ln2Parts() {
    mpfr_t ln2, head;
    mpfr_init2(ln2, 300);
    mpfr_init2(head, 32);
    mpfr_const_log2(ln2, MPFR_RNDN);
    mpfr_set(head, ln2, MPFR_RNDN);
    part[0] = mpfr_get_d(head, MPFR_RNDN);
    mpfr_sub_d(ln2, ln2, part[0], MPFR_RNDN);
    part[1] = mpfr_get_d(ln2, MPFR_RNDN);
    mpfr_sub_d(ln2, ln2, part[1], MPFR_RNDN);
    part[2] = mpfr_get_d(ln2, MPFR_RNDN);
    mpfr_clear(ln2);
    mpfr_clear(head);
  }
};

const Ln2Parts& ln2_parts() {
  static const Ln2Parts parts;
  return parts;
}

// 1/n! for n = 1 .. kTaylorTerms, each the nearest double-double.
constexpr int kTaylorTerms = 13;
struct InverseFactorials {
  std::array<DoubleDouble, kTaylorTerms + 1> c{};
  InverseFactorials() {
    Wide w;
    mpfr_set_ui(w.get(), 1, MPFR_RNDN);
    for (int n = 1; n <= kTaylorTerms; ++n) {
      mpfr_div_ui(w.get(), w.get(), static_cast<unsigned long>(n), MPFR_RNDN);
      c[n] = w.split();
    }
  }
};

const InverseFactorials& inverse_factorials() {
  static const InverseFactorials f;
  return f;
}

// Squarings after the Taylor series: the series runs on r/2⁵.
constexpr int kSquarings = 5;

// expm1(r) for |r| ≤ ln2/2 (a little more is fine): s = r/2⁵ (exact),
// |s| ≤ 0.0109; Taylor to s¹³/13! (the first omitted term is below
// 10⁻³⁶·|s|, far under u²); then (1 + p)² - 1 = p·(2 + p) five times.
DoubleDouble expm1_reduced(const DoubleDouble& r) {
  const auto& f = inverse_factorials();
  const DoubleDouble s = ldexp(r, -kSquarings);
  DoubleDouble p = f.c[kTaylorTerms];
  for (int n = kTaylorTerms - 1; n >= 1; --n) p = p * s + f.c[n];
  p = p * s;
  for (int i = 0; i < kSquarings; ++i) p = p * (DoubleDouble(2.0) + p);
  return p;
}

constexpr double kHalfLn2 = 0.34657359027997264;

}  // namespace

DoubleDouble::DoubleDouble(const char* text) {
  Wide w;
  if (text == nullptr || mpfr_set_str(w.get(), text, 10, MPFR_RNDN) != 0)
    throw std::invalid_argument(std::string("DoubleDouble: not a decimal number: '") +
                                (text ? text : "") + "'");
  *this = w.split();
}

DoubleDouble sqrt(const DoubleDouble& x) {
  if (x.hi <= 0) {
    if (x.hi == 0) return {};
    return {std::numeric_limits<double>::quiet_NaN(), 0};
  }
  if (!std::isfinite(x.hi)) return {x.hi, 0};
  const double s = std::sqrt(x.hi);
  const DoubleDouble square = dd_detail::two_prod(s, s);
  // x.hi - square.hi is exact (Sterbenz: they agree to a factor of 2).
  const double correction = (((x.hi - square.hi) - square.lo) + x.lo) / (2 * s);
  return dd_detail::fast_two_sum(s, correction);
}

DoubleDouble exp(const DoubleDouble& x) {
  if (std::isnan(x.hi)) return x;
  if (x.hi > 709.78) return {std::numeric_limits<double>::infinity(), 0};
  if (x.hi < -745.2) return {};
  const double k = std::nearbyint(x.hi / 0.69314718055994531);
  const auto& ln2 = ln2_parts().part;
  // r = x - k·ln 2, each part subtracted exactly (the first two) or with a
  // rounding far below u² (the third).
  DoubleDouble r = x - DoubleDouble(k * ln2[0]);
  r = r - dd_detail::two_prod(k, ln2[1]);
  r = r - DoubleDouble(k * ln2[2]);
  const DoubleDouble p = expm1_reduced(r);
  return ldexp(DoubleDouble(1.0) + p, static_cast<int>(k));
}

DoubleDouble expm1(const DoubleDouble& x) {
  if (std::fabs(x.hi) <= kHalfLn2) return expm1_reduced(x);
  return exp(x) - DoubleDouble(1.0);
}

DoubleDouble tanh(const DoubleDouble& x) {
  if (std::isnan(x.hi)) return x;
  const DoubleDouble a = abs(x);
  DoubleDouble t;
  if (a.hi > 40) {
    t = DoubleDouble(1.0);
  } else {
    const DoubleDouble e = expm1(ldexp(a, 1));
    t = e / (e + DoubleDouble(2.0));
  }
  return x.hi < 0 ? -t : t;
}

std::string to_string(const DoubleDouble& x) {
  Wide w;
  w.set(x);
  char* text = nullptr;
  if (mpfr_asprintf(&text, "%.33Re", w.get()) < 0 || text == nullptr) return "nan";
  std::string out(text);
  mpfr_free_str(text);
  return out;
}

DoubleDouble round_to(FloatFormat format, const DoubleDouble& x) {
  const double nearest = gpt2::round_to(format, x.hi);  // hi alone, ties to even
  if (x.lo == 0 || !std::isfinite(x.hi)) return nearest;
  // Is hi a midpoint? As in round_to: in units of the format's quantum at
  // hi's magnitude (2^(e-p), or the subnormal spacing), a midpoint is an
  // integer plus one half. Both steps are exact.
  const FormatShape shape = format_shape(format);
  int e = 0;
  (void)std::frexp(std::fabs(x.hi), &e);  // |hi| in [2^(e-1), 2^e)
  const int quantum = std::max(e - 1, shape.min_exponent) - (shape.significand_bits - 1);
  const double scaled = std::ldexp(std::fabs(x.hi), -quantum);
  if (scaled - std::floor(scaled) != 0.5) return nearest;
  // A tie for hi, not for x: x lies on lo's side of hi, with no value or
  // midpoint of the format between them, so hi moved one double towards lo
  // rounds as x does (past the largest finite value's midpoint: to ±Inf).
  return gpt2::round_to(format, std::nextafter(x.hi, x.lo > 0 ? INFINITY : -INFINITY));
}

DoubleDouble dd_pi() {
  static const DoubleDouble pi = [] {
    Wide w;
    mpfr_const_pi(w.get(), MPFR_RNDN);
    return w.split();
  }();
  return pi;
}

}  // namespace gpt2::reference
