// DoubleDouble: an unevaluated sum hi + lo of two doubles (|lo| ≤ ulp(hi)/2),
// about 106 bits (31-32 decimal digits): the scalar of the reference's fast
// truth tier (`--precision dd`).
//
// Why our own type and not QD's dd_real (libqd-dev): QD's default addition
// is the "sloppy" one, whose relative error is unbounded under cancellation,
// and QD states no error bound for its operations. The tier must certify
// its digits (oracle/dd_truth.h), so every operation here is an
// algorithm with a published, proven bound on its relative error. With
// u = 2⁻⁵³ (double's unit roundoff) and the numbering of Joldes, Muller &
// Popescu, "Tight and rigorous error bounds for basic building blocks of
// double-word arithmetic", ACM TOMS 44(2), 2017:
//
//   x + y   AccurateDWPlusDW (Alg. 6)        ≤ 3u² + 13u³
//   x · y   DWTimesDW3 (Alg. 12, with FMA)   ≤ 5u²   (4u², Muller & Rideau 2022)
//   x · w   DWTimesFP3 (Alg. 9, with FMA)    ≤ 2u²   (w a double: a weight)
//   x / y   DWDivDW2 (Alg. 17)               ≤ 15u² + 56u³
//
// sqrt, exp, expm1 and tanh have no such published bound: the test
// (reference/double_double_test.cpp) holds each to 16u² against 100-digit
// MPFR on 20,000 samples, and the worst it saw is written beside each.
// Measured worst of the arithmetic, same test: + 1.3u², · 1.9u², / 2.7u².
//
// The error-free transformations (TwoSum, Fast2Sum, TwoProd) are exact:
// TwoProd uses std::fma, which is correctly rounded with or without an FMA
// unit (glibc picks the instruction at run time), so every operation gives
// the same bits on every x86-64 CPU. A compiler that fused a·b + c inside
// these algorithms would break their exactness: it can only where FMA is
// enabled, which is dd_kernels.cpp alone, built with -ffp-contract=off.
#pragma once

#include <cmath>
#include <cstdint>
#include <ostream>
#include <string>

#include "model/float_formats.h"

namespace gpt2::reference {

struct DoubleDouble {
  double hi = 0;
  double lo = 0;

  constexpr DoubleDouble() = default;
  constexpr DoubleDouble(double h, double l) : hi(h), lo(l) {}
  constexpr DoubleDouble(double x) : hi(x) {}  // NOLINT: exact, like Real50(x)
  constexpr DoubleDouble(float x) : hi(x) {}   // NOLINT
  constexpr DoubleDouble(int x) : hi(x) {}     // NOLINT
  // A decimal string rounded to nearest (through a 240-bit MPFR number):
  // "0.044715" is 0.044715 to ~32 digits. Throws std::invalid_argument for
  // anything that is not a number.
  explicit DoubleDouble(const char* text);
  explicit DoubleDouble(const std::string& text) : DoubleDouble(text.c_str()) {}

  // The nearest double (hi, since |lo| ≤ ulp(hi)/2; ties as hi + lo rounds).
  explicit operator double() const { return hi + lo; }
  explicit operator float() const { return static_cast<float>(hi + lo); }

  // x = hi + lo rounded once to the nearest value of `format` (ties to
  // even): the DoubleDouble twin of model/float_formats.h's round_to, found
  // by argument-dependent lookup (a profile's rounding points,
  // reference/rounding.h; FloatFormat::f32 rounds to float32). Every value
  // of the formats and every midpoint between two neighbours is a double (at
  // most 25 significant bits) and |lo| ≤ ulp(hi)/2, so no midpoint lies
  // strictly between hi and x: x rounds as hi does, except when hi is itself
  // a midpoint and lo ≠ 0, where x is no tie and lo's sign says which
  // neighbour is nearer.
  friend DoubleDouble round_to(FloatFormat format, const DoubleDouble& x);
};

// Unit roundoff of double: every bound above is a multiple of u².
inline constexpr double kDoubleUnitRoundoff = 0x1p-53;
inline constexpr double kUnitRoundoffSquared = 0x1p-106;
// The largest relative error of one DoubleDouble operation, in units of u²:
// the division's 15u² + 56u³, rounded up. sqrt, exp, expm1 and tanh are
// held to kWorstFunctionErrorInUnits by double_double_test.cpp.
inline constexpr double kWorstOpErrorInUnits = 16;
inline constexpr double kWorstFunctionErrorInUnits = 16;

namespace dd_detail {

// s + e = a + b exactly (Knuth's TwoSum; 6 operations, no precondition).
inline DoubleDouble two_sum(double a, double b) {
  const double s = a + b;
  const double bb = s - a;
  const double e = (a - (s - bb)) + (b - bb);
  return {s, e};
}
// s + e = a + b exactly when |a| ≥ |b| or a = 0 (Dekker's Fast2Sum).
inline DoubleDouble fast_two_sum(double a, double b) {
  const double s = a + b;
  return {s, b - (s - a)};
}
// p + e = a·b exactly (FMA's exact remainder).
inline DoubleDouble two_prod(double a, double b) {
  const double p = a * b;
  return {p, std::fma(a, b, -p)};
}

}  // namespace dd_detail

// AccurateDWPlusDW (JMP Alg. 6): relative error ≤ 3u² + 13u³.
inline DoubleDouble operator+(const DoubleDouble& x, const DoubleDouble& y) {
  using namespace dd_detail;
  const DoubleDouble s = two_sum(x.hi, y.hi);
  const DoubleDouble t = two_sum(x.lo, y.lo);
  const double c = s.lo + t.hi;
  const DoubleDouble v = fast_two_sum(s.hi, c);
  const double w = t.lo + v.lo;
  return fast_two_sum(v.hi, w);
}
inline DoubleDouble operator-(const DoubleDouble& x) { return {-x.hi, -x.lo}; }
inline DoubleDouble operator-(const DoubleDouble& x, const DoubleDouble& y) { return x + (-y); }

// DWTimesDW3 (JMP Alg. 12): relative error ≤ 5u².
inline DoubleDouble operator*(const DoubleDouble& x, const DoubleDouble& y) {
  using namespace dd_detail;
  const DoubleDouble c = two_prod(x.hi, y.hi);
  const double tl0 = x.lo * y.lo;
  const double tl1 = std::fma(x.hi, y.lo, tl0);
  const double cl2 = std::fma(x.lo, y.hi, tl1);
  const double cl3 = c.lo + cl2;
  return fast_two_sum(c.hi, cl3);
}

// DWTimesFP3 (JMP Alg. 9): x·w for a double w (a weight), relative error ≤ 2u².
inline DoubleDouble times_double(const DoubleDouble& x, double w) {
  using namespace dd_detail;
  const DoubleDouble c = two_prod(x.hi, w);
  const double cl3 = std::fma(x.lo, w, c.lo);
  return fast_two_sum(c.hi, cl3);
}

// DWDivDW2 (JMP Alg. 17): relative error ≤ 15u² + 56u³.
inline DoubleDouble operator/(const DoubleDouble& x, const DoubleDouble& y) {
  using namespace dd_detail;
  const double th = x.hi / y.hi;
  const DoubleDouble r = times_double(y, th);
  const double pi_h = x.hi - r.hi;
  const double delta_l = x.lo - r.lo;
  const double delta = pi_h + delta_l;
  const double tl = delta / y.hi;
  return fast_two_sum(th, tl);
}

inline DoubleDouble& operator+=(DoubleDouble& x, const DoubleDouble& y) { return x = x + y; }
inline DoubleDouble& operator-=(DoubleDouble& x, const DoubleDouble& y) { return x = x - y; }
inline DoubleDouble& operator*=(DoubleDouble& x, const DoubleDouble& y) { return x = x * y; }
inline DoubleDouble& operator/=(DoubleDouble& x, const DoubleDouble& y) { return x = x / y; }

// Comparisons of the exact values hi + lo (both normalised).
inline bool operator==(const DoubleDouble& x, const DoubleDouble& y) {
  return x.hi == y.hi && x.lo == y.lo;
}
inline bool operator<(const DoubleDouble& x, const DoubleDouble& y) {
  return x.hi < y.hi || (x.hi == y.hi && x.lo < y.lo);
}
inline bool operator>(const DoubleDouble& x, const DoubleDouble& y) { return y < x; }
inline bool operator<=(const DoubleDouble& x, const DoubleDouble& y) { return !(y < x); }
inline bool operator>=(const DoubleDouble& x, const DoubleDouble& y) { return !(x < y); }

inline DoubleDouble abs(const DoubleDouble& x) { return x.hi < 0 ? -x : x; }
inline DoubleDouble fabs(const DoubleDouble& x) { return abs(x); }
inline bool isfinite(const DoubleDouble& x) { return std::isfinite(x.hi); }

// x·2^k, exact (barring overflow and underflow).
inline DoubleDouble ldexp(const DoubleDouble& x, int k) {
  return {std::ldexp(x.hi, k), std::ldexp(x.lo, k)};
}

// sqrt(x) by one Newton step from the double root s = sqrt(hi) (Karp &
// Markstein): sqrt(x) ≈ s + (x - s²)/(2s), with s² exact (TwoProd) and the
// correction in double. s has relative error ≤ u; the step squares it
// (u²/2) and adds the rounding of the correction (≤ u·|correction| ≤ u²)
// and of the final Fast2Sum; measured worst 2.3u² (double_double_test).
DoubleDouble sqrt(const DoubleDouble& x);

// exp(x) = 2^k·(1 + expm1(r)), r = x - k·ln 2 (|r| ≤ ln2/2) with ln 2 in
// three parts so that r is exact to ~2⁻¹⁶⁰·|k|; expm1(r) by Taylor on
// r/2^10 and ten steps of (1 + p)² - 1 = p·(2 + p), which keep p's error
// relative. Measured worst 1.7u² (double_double_test). Overflow (x > 709)
// gives inf, x < -745 gives 0; below x ≈ -669 the result's low word is
// subnormal, so its error there is absolute (≤ 2⁻¹⁰⁷⁵), not relative (in
// softmax such a term is ≥ 10²⁹⁰ times below the sum it joins).
DoubleDouble exp(const DoubleDouble& x);
// exp(x) - 1 without cancellation near 0 (the expm1 above for |x| ≤ ln2/2,
// exp(x) - 1 beyond, where there is no cancellation to speak of).
DoubleDouble expm1(const DoubleDouble& x);
// tanh(x) = e/(e + 2) with e = expm1(2|x|), sign restored: both terms
// positive, so the relative error is expm1's plus a division's; ±1 for
// |x| > 40 (1 - tanh < 2e⁻⁸⁰ < u²/10¹⁰). Measured worst 8.1u² (expm1 6.6u²).
DoubleDouble tanh(const DoubleDouble& x);

// The decimal text of x to 34 significant digits (enough to print it
// back: 106 bits need 33).
std::string to_string(const DoubleDouble& x);
inline std::ostream& operator<<(std::ostream& out, const DoubleDouble& x) {
  return out << to_string(x);
}

// π to double-double (the nearest; used by GELU's sqrt(2/π)).
DoubleDouble dd_pi();

}  // namespace gpt2::reference
