// Deterministic parallel loops for the reference.
//
// Every output element of the reference is computed by exactly one call of a
// loop body, with the same arithmetic in the same order whichever thread runs
// it. Threads only decide *which* core computes an element, never *how*, so
// the result is bit-identical for every thread count (a property test).
// No OpenMP: std::thread, started per loop (the loops of the reference are
// coarse: a whole projection or a whole attention layer).
#pragma once

#include <cstdint>
#include <functional>
#include <type_traits>

namespace gpt2::reference {

class Team;  // reference/team.h

// A loop is split across threads only when each thread gets at least this
// much work (estimated in nanoseconds), since starting a thread costs tens of
// microseconds.
inline constexpr int64_t kMinNanosecondsPerThread = 200'000;

struct DoubleDouble;  // reference/double_double.h

// Rough cost of one multiply-add of Real, for the estimate above: a hardware
// float or double ~1 ns, a double-double ~4 ns (scalar), a multiprecision
// number ~100 ns (see reference/real.h).
template <class Real>
constexpr int64_t multiply_add_nanoseconds() {
  if constexpr (std::is_same_v<Real, DoubleDouble>) return 4;
  return std::is_floating_point_v<Real> ? 1 : 100;
}

class Parallel {
 public:
  // threads: 0 means std::thread::hardware_concurrency(). `team`: the ranks
  // this process shares the pass with (reference/team.h), nullptr for none.
  explicit Parallel(int threads, const Team* team = nullptr);
  int threads() const { return threads_; }
  const Team* team() const { return team_; }

  // Calls body(i) once for every i in [0, n). [0, n) is cut into contiguous
  // ranges, one per worker; workers = min(threads, n, total work /
  // kMinNanosecondsPerThread), at least 1. `nanoseconds_per_item` estimates
  // the cost of one body(i). The calling thread runs the first range. An
  // exception in any worker is rethrown here after all have finished.
  void for_each(int64_t n, int64_t nanoseconds_per_item,
                const std::function<void(int64_t)>& body) const;

  // How many workers for_each would use (exposed for tests).
  int workers_for(int64_t n, int64_t nanoseconds_per_item) const;

 private:
  int threads_ = 1;
  const Team* team_ = nullptr;
};

}  // namespace gpt2::reference
