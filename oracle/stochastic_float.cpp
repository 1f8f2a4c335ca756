#include "oracle/stochastic_float.h"

#include <atomic>

#include "model/init.h"

namespace gpt2::oracle {

namespace {
std::mutex session_mutex;
// Read by every operation, written only while no run is going on (a new
// Session is created before the run's threads start).
std::atomic<uint64_t> session_seed{0};

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
}  // namespace

StochasticFloat::Session::Session(uint64_t seed) : lock_(session_mutex) {
  session_seed.store(seed, std::memory_order_relaxed);
}

StochasticFloat::Session::~Session() { session_seed.store(0, std::memory_order_relaxed); }

StochasticFloat StochasticFloat::round(double exact, uint32_t op, float a, float b) {
  const float nearest = static_cast<float>(exact);
  if (static_cast<double>(nearest) == exact || !std::isfinite(nearest)) return nearest;
  // The two float neighbours of `exact`: `nearest` and the next float on the
  // other side of `exact`.
  const float other = static_cast<double>(nearest) < exact
                          ? std::nextafter(nearest, std::numeric_limits<float>::infinity())
                          : std::nextafter(nearest, -std::numeric_limits<float>::infinity());
  const uint64_t key = (uint64_t{bits_of(a)} << 32) | bits_of(b);
  const uint64_t h = mix64(session_seed.load(std::memory_order_relaxed) ^ mix64(key + op));
  return (h >> 63) ? nearest : other;
}

}  // namespace gpt2::oracle
