// Where a weight meets an activation: the one place in the reference.
//
// The reference keeps GPT-2's weights as they were stored (float32; a bf16
// or f16 checkpoint is widened exactly to float by the loader) and computes
// in Real only what it computes: activations, the key/value cache and every
// sum. A weight enters Real's arithmetic through this header alone:
//
//   as_real<Real>(w)       w as a Real, exactly (a bias, a LayerNorm gain, an
//                          embedding row)
//   WeightRow<Real, W>     a row of weights made ready for Real's products
//                          once, then used by all T rows of activations
//   MultiplyAdd<Real>      acc += x·w: the product rounded to Real, then the
//                          sum rounded to Real (two roundings, exactly as the
//                          textbook `acc += x * w`)
//
// Why. At 50 digits a weight converted to Real takes 56 bytes (GPT-2 124M:
// 7 GB, XL: 88 GB); kept as float it takes 4. Nothing is lost: every float
// (and every double) is exactly a binary number of at most 53 bits, and MPFR
// rounds x·w correctly to Real's precision whatever w's own precision is, so
// x·w rounded is the same number whether w is held as a Real or as 53 bits.
// The traces are bit-identical to those of weights converted to Real
// (reference/stored_weights_test.cpp proves it at 50 and 100 digits).
//
// How, for an MPFR Real (measured with bench/reference_bench, and in
// reference/real.h): MPFR's own mixed product mpfr_mul_d converts the double
// on every call and costs ~75 ns per multiply-add against ~48 ns for two
// MPFR numbers; Boost's `number * double` is slower still. So a row of
// weights is converted once into 53-bit MPFR numbers held in place (no heap:
// MPFR's custom interface, the significand written from the float's bits),
// and every activation row of the pass multiplies by them: at T = 8 the
// conversion is an eighth of a cent per product. MultiplyAdd reuses one
// product variable instead of a temporary per `x * w` (Boost constructs and
// zeroes one each time): that, not the narrower operand, is what makes the
// forward pass cheaper than the bare `acc += x * w` loop of two Real50s.
// For float, double and any other scalar (the oracle's StochasticFloat),
// as_real is the scalar's own exact conversion and MultiplyAdd is `acc += x * w`.
#pragma once

#include <boost/multiprecision/mpfr.hpp>
#include <cmath>
#include <memory>
#include <type_traits>

#include "model/error.h"
#include "reference/double_double.h"

namespace gpt2::reference {

// Whether Real is a Boost.Multiprecision MPFR number (Real50, Real100).
template <class Real>
struct is_mpfr : std::false_type {};
template <unsigned Digits, boost::multiprecision::mpfr_allocation_type Allocation,
          boost::multiprecision::expression_template_option Templates>
struct is_mpfr<boost::multiprecision::number<
    boost::multiprecision::mpfr_float_backend<Digits, Allocation>, Templates>> : std::true_type {};
template <class Real>
inline constexpr bool is_mpfr_v = is_mpfr<Real>::value;

// w as a Real, exactly: a stored weight (float) is exactly a double, a
// Real50, a Real100 and a StochasticFloat.
template <class Real, class Weight>
Real as_real(const Weight& w) {
  if constexpr (std::is_same_v<Real, Weight>) {
    return w;
  } else {
    static_assert(!std::is_same_v<Real, float> || std::is_same_v<Weight, float>,
                  "a float reference reads float weights (anything wider would be rounded)");
    return Real(w);
  }
}

// A weight as an MPFR number of 53 bits, which holds exactly any float,
// bf16, f16 or double. Its significand lives inside the object (MPFR's
// custom interface), so it is neither copied nor moved: mpfr_t points into it.
class MpfrWeight {
 public:
  static constexpr mpfr_prec_t kBits = 53;
  static_assert(GMP_NUMB_BITS == 64, "one 64-bit limb holds the 53-bit significand");

  MpfrWeight() { set(0.0); }
  MpfrWeight(const MpfrWeight&) = delete;
  MpfrWeight& operator=(const MpfrWeight&) = delete;

  // Exact for every double. A finite non-zero w = ±f·2^e with f in [1/2, 1)
  // (frexp) is MPFR's own normal form: the significand is f·2^64, whose top
  // bit is set and whose low 11 bits are zero.
  void set(double w) {
    mpfr_custom_init(&limb_, kBits);
    if (w != 0 && std::isfinite(w)) {
      int exponent = 0;
      const double fraction = std::frexp(w, &exponent);
      limb_ = static_cast<mp_limb_t>(std::ldexp(std::fabs(fraction), 64));
      mpfr_custom_init_set(value_, fraction < 0 ? -MPFR_REGULAR_KIND : MPFR_REGULAR_KIND, exponent,
                           kBits, &limb_);
    } else {  // ±0, ±inf, NaN: MPFR's own conversion
      mpfr_custom_init_set(value_, MPFR_ZERO_KIND, 0, kBits, &limb_);
      mpfr_set_d(value_, w, MPFR_RNDN);
    }
  }
  mpfr_srcptr get() const { return value_; }

 private:
  mp_limb_t limb_ = 0;
  mpfr_t value_;
};

// A weight made ready for Real's products: MpfrWeight for an MPFR Real, a
// double for DoubleDouble (whose product with a double, DWTimesFP3, is
// cheaper and tighter than with a double-double whose low word is 0), Real
// itself otherwise.
template <class Real>
using ExactWeight =
    std::conditional_t<is_mpfr_v<Real>, MpfrWeight,
                       std::conditional_t<std::is_same_v<Real, DoubleDouble>, double, Real>>;

// acc += x·w, with the product rounded to Real and then the sum rounded to
// Real, as `acc += x * w` does; w is an activation (Real) or a weight
// (ExactWeight<Real>, from a WeightRow). For an MPFR Real the product lives
// in one variable reused by every call, not in a temporary per product.
template <class Real>
class MultiplyAdd {
 public:
  void operator()(Real& acc, const Real& x, const Real& w) {
    if constexpr (is_mpfr_v<Real>) {
      mpfr_mul(product_.backend().data(), x.backend().data(), w.backend().data(), MPFR_RNDN);
      mpfr_add(acc.backend().data(), acc.backend().data(), product_.backend().data(), MPFR_RNDN);
    } else {
      acc += x * w;
    }
  }
  void operator()(Real& acc, const Real& x, const MpfrWeight& w) requires is_mpfr_v<Real> {
    mpfr_mul(product_.backend().data(), x.backend().data(), w.get(), MPFR_RNDN);
    mpfr_add(acc.backend().data(), acc.backend().data(), product_.backend().data(), MPFR_RNDN);
  }
  // A double-double times a weight: DWTimesFP3 then AccurateDWPlusDW, the
  // element operation of reference/dd_kernels.h.
  void operator()(Real& acc, const Real& x, double w) requires std::is_same_v<Real, DoubleDouble> {
    acc = acc + times_double(x, w);
  }

 private:
  Real product_ = Real(0);
};

// n consecutive weights (part of a row of W, or a row of wte) ready for
// MultiplyAdd<Real>: load() converts them, once, and every activation row
// then reads row[j]. Where nothing needs converting (Weight is Real, or Real
// is a hardware scalar that converts a float exactly and for free) it is a
// view of the stored weights.
template <class Real, class Weight>
class WeightRow {
  static constexpr bool kConverts = is_mpfr_v<Real> && !std::is_same_v<Real, Weight>;

 public:
  explicit WeightRow(int n) : n_(n) {
    if constexpr (kConverts) converted_ = std::make_unique<MpfrWeight[]>(n);
  }
  // weights: [n]
  void load(const Weight* weights) {
    if constexpr (kConverts) {
      static_assert(std::is_floating_point_v<Weight>, "stored weights are float (or double)");
      for (int j = 0; j < n_; ++j) converted_[j].set(static_cast<double>(weights[j]));
    } else {
      stored_ = weights;
    }
  }
  decltype(auto) operator[](int j) const {
    if constexpr (kConverts) {
      return static_cast<const MpfrWeight&>(converted_[j]);
    } else if constexpr (std::is_same_v<Real, Weight>) {
      return static_cast<const Real&>(stored_[j]);
    } else if constexpr (std::is_same_v<Real, DoubleDouble>) {
      return static_cast<double>(stored_[j]);  // exact: ExactWeight<DoubleDouble>
    } else {
      return as_real<Real>(stored_[j]);
    }
  }

 private:
  int n_ = 0;
  const Weight* stored_ = nullptr;
  std::unique_ptr<MpfrWeight[]> converted_;
};

}  // namespace gpt2::reference
