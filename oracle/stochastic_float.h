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

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>

namespace gpt2::oracle {

class StochasticFloat {
 public:
  StochasticFloat() = default;
  StochasticFloat(int v) : value_(static_cast<float>(v)) {}  // NOLINT: like float
  StochasticFloat(float v) : value_(v) {}                      // NOLINT
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

  // Rounds `exact` (the double result of operation `op` on a and b) to a
  // float neighbour chosen by the hash of (seed, op, a, b).
  static StochasticFloat round(double exact, uint32_t op, float a, float b);

  friend StochasticFloat operator+(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) + double(b.value_), 1, a.value_, b.value_);
  }
  friend StochasticFloat operator-(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) - double(b.value_), 2, a.value_, b.value_);
  }
  friend StochasticFloat operator*(StochasticFloat a, StochasticFloat b) {
    return round(double(a.value_) * double(b.value_), 3, a.value_, b.value_);
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

 private:
  float value_ = 0.0f;
};

}  // namespace gpt2::oracle

// Lets generic code (Boost.Math's constants among it) treat the type as the
// float it emulates.
template <>
class std::numeric_limits<gpt2::oracle::StochasticFloat> : public std::numeric_limits<float> {};
