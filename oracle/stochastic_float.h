// StochasticFloat: float32 arithmetic whose every result is rounded to one of
// its two float neighbours at random, instead of to the nearest.
//
// Running the reference code at this type gives one sample of a legitimate
// float32 evaluation of GPT-2 with a rounding pattern different from the
// round-to-nearest baseline, as a different summation order, blocking or
// fusion would give (Monte Carlo arithmetic / CESTAC, Vignes 1993; Parker
// 1997). The oracle's budget takes the worst of a few such runs (see
// oracle/tolerance.h).
//
// The direction of each rounding is a hash of the operation, its operands
// and a seed, not a generator's next draw: the result does not depend on the
// order in which threads run, so a stochastic run is as reproducible as any
// other reference run. Each operation is computed in double (exact for +, -
// and · of two floats up to double's own rounding; within an ULP of double
// for /, sqrt, exp and tanh) and then rounded to float: to the value itself
// when it is a float, otherwise to the float below or above it with equal
// probability, so every result is within one float32 ULP of the exact one.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

#include "model/float_formats.h"
#include "model/init.h"
#include "reference/row_kernel.h"

namespace gpt2::oracle {

class StochasticFloat {
 public:
  StochasticFloat() = default;
  StochasticFloat(int v) : value_(static_cast<float>(v)) {}  // NOLINT: like float
  StochasticFloat(float v) : value_(v) {}                    // NOLINT
  // A double (a config's epsilon, a constant) is rounded to nearest, once, as
  // float(x) would in the float32 baseline.
  StochasticFloat(double v) : value_(static_cast<float>(v)) {}  // NOLINT
  explicit StochasticFloat(const char* decimal) : value_(std::strtof(decimal, nullptr)) {}

  explicit operator double() const { return value_; }
  explicit operator float() const { return value_; }
  float value() const { return value_; }

  // The seed of the rounding directions. One stochastic run holds a Session
  // for its whole duration (sessions are serialised by a mutex, so two runs
  // with different seeds never interleave).
  class Session {
   public:
    explicit Session(uint64_t seed);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

   private:
    std::unique_lock<std::mutex> lock_;
  };

  // The running session's seed (0 outside a session).
  static uint64_t session_seed() { return seed_.load(std::memory_order_relaxed); }
  // The operation codes `round` hashes (+ is 1, · is 3): the vectorised row
  // of oracle/stochastic_rows.cpp uses the same.
  static constexpr uint32_t kAdd = 1, kMultiply = 3;

  // Rounds `exact` (the double result of operation `op` on a and b) to a
  // float neighbour chosen by the hash of (seed, op, a, b). Inline: it is
  // every operation of a stochastic run.
  static StochasticFloat round(double exact, uint32_t op, float a, float b) {
    const float nearest = static_cast<float>(exact);
    if (!std::isfinite(nearest)) return nearest;
    // The float on the other side of `exact` is one step of the bit pattern
    // away from zero when |exact| > |nearest| and toward zero otherwise
    // (from ±0 the step away gives ±denorm_min, with the sign of the zero,
    // which float(exact) keeps). Branch-free: the choice is a coin flip, so a
    // branch on it would be mispredicted half the time.
    const uint32_t near_bits = bits_of(nearest);
    const bool away = std::abs(exact) > std::abs(static_cast<double>(nearest));
    const uint32_t other_bits = near_bits + (away ? 1u : 0xffffffffu);
    const uint64_t key = (uint64_t{bits_of(a)} << 32) | bits_of(b);
    const uint64_t h =
        mix64(key ^ seed_.load(std::memory_order_relaxed) ^ (uint64_t{op} * 0xd6e8feb86659fd93ull));
    const bool inexact = static_cast<double>(nearest) != exact;
    const uint32_t take_other = 0u - static_cast<uint32_t>(inexact & !(h >> 63));
    const uint32_t bits = near_bits ^ ((near_bits ^ other_bits) & take_other);
    float result;
    std::memcpy(&result, &bits, sizeof result);
    return result;
  }

  friend StochasticFloat operator+(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) + double(b.value_), kAdd, a.value_, b.value_);
  }
  friend StochasticFloat operator-(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) - double(b.value_), 2, a.value_, b.value_);
  }
  friend StochasticFloat operator*(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) * double(b.value_), kMultiply, a.value_, b.value_);
  }
  friend StochasticFloat operator/(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) / double(b.value_), 4, a.value_, b.value_);
  }
  friend StochasticFloat operator-(StochasticFloat a) { return StochasticFloat(-a.value_); }
  StochasticFloat& operator+=(StochasticFloat b) { return *this = *this + b; }
  StochasticFloat& operator-=(StochasticFloat b) { return *this = *this - b; }
  StochasticFloat& operator*=(StochasticFloat b) { return *this = *this * b; }
  StochasticFloat& operator/=(StochasticFloat b) { return *this = *this / b; }

  friend bool operator<(StochasticFloat a, StochasticFloat b) { return a.value_ < b.value_; }
  friend bool operator>(StochasticFloat a, StochasticFloat b) { return a.value_ > b.value_; }
  friend bool operator<=(StochasticFloat a, StochasticFloat b) { return a.value_ <= b.value_; }
  friend bool operator>=(StochasticFloat a, StochasticFloat b) { return a.value_ >= b.value_; }
  friend bool operator==(StochasticFloat a, StochasticFloat b) { return a.value_ == b.value_; }
  friend bool operator!=(StochasticFloat a, StochasticFloat b) { return a.value_ != b.value_; }

  // Found by argument-dependent lookup from the reference's `using std::sqrt`.
  friend StochasticFloat sqrt(StochasticFloat a) {
    return round(std::sqrt(double(a.value_)), 5, a.value_, 0.0f);
  }
  friend StochasticFloat exp(StochasticFloat a) {
    return round(std::exp(double(a.value_)), 6, a.value_, 0.0f);
  }
  friend StochasticFloat tanh(StochasticFloat a) {
    return round(std::tanh(double(a.value_)), 7, a.value_, 0.0f);
  }
  friend StochasticFloat abs(StochasticFloat a) { return StochasticFloat(std::fabs(a.value_)); }

  // A precision profile's declared rounding (model/profile.h,
  // reference/rounding.h): the float value rounded to `format`, to nearest,
  // ties to even, with no coin flip. The ensemble varies how float32
  // arithmetic rounds, not what the engine declares: every legitimate engine
  // rounds to nearest at those points. Found by argument-dependent lookup.
  friend StochasticFloat round_to(FloatFormat format, const StochasticFloat& x) {
    return StochasticFloat(gpt2::round_to(format, x.value_));
  }

 private:
  static uint32_t bits_of(float x) {
    uint32_t b;
    std::memcpy(&b, &x, sizeof b);
    return b;
  }
  // The running session's seed: read by every operation, written only while
  // no run is going on (a Session is created before the run's threads start).
  static inline std::atomic<uint64_t> seed_{0};

  float value_ = 0.0f;
};

// acc[j] = acc[j] + x·w[j] for j < n, every + and · rounded by `round`
// exactly as the scalar operators do, 8 or 4 columns at a time where the CPU
// has AVX-512 or AVX2 (oracle/stochastic_rows.cpp; the same bits on every
// path: oracle/stochastic_rows_test.cpp).
void stochastic_multiply_add_row(StochasticFloat* acc, StochasticFloat x, const float* w, int n);

}  // namespace gpt2::oracle

// The reference's projections and logits run their rows through it
// (reference/row_kernel.h): declared here, beside the type, so that every
// instantiation of the reference at StochasticFloat sees it.
template <>
struct gpt2::reference::RowKernel<gpt2::oracle::StochasticFloat> {
  static constexpr bool kVectorised = true;
  static void multiply_add(oracle::StochasticFloat* acc, const oracle::StochasticFloat& x,
                           const float* w, int n) {
    oracle::stochastic_multiply_add_row(acc, x, w, n);
  }
};

// Lets generic code (Boost.Math's constants among it) treat the type as the
// float it emulates.
template <>
class std::numeric_limits<gpt2::oracle::StochasticFloat> : public std::numeric_limits<float> {};
