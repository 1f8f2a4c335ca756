// What kept this process off the CPUs while `bench` measured: the evidence
// behind its "unsteady" flag. On a shared machine a round is slow when other
// processes want the cores (this process's runnable threads then wait on the
// run queue, which also covers two of its threads landing on one core) or when
// the hypervisor runs something else on the virtual CPUs (steal time).
//
// Linux: the run-queue wait is the second field of /proc/self/task/*/schedstat
// (nanoseconds spent runnable but not running, per thread, summed); steal is
// the eighth value of /proc/stat's "cpu" line (all CPUs, in clock ticks).
// Elsewhere, or where those files are missing, available() is false and the
// figures are 0.
#pragma once

#include <chrono>

namespace gpt2::cli {

struct CpuContention {
  double wall_s = 0;            // length of the measurement
  double run_queue_wait_s = 0;  // summed over this process's threads
  double steal_s = 0;           // summed over the machine's CPUs
  int cpus = 1;                 // CPUs this process may run on
  bool available = false;

  // Waiting time per second of wall time and per CPU: 0 when the process had
  // the cores to itself; 0.5 when, on average, one of two CPUs' worth of its
  // threads was waiting. The same for steal.
  double run_queue_wait_fraction() const;
  double steal_fraction() const;
};

// Reads the counters at construction and at stop().
class CpuContentionMeter {
 public:
  CpuContentionMeter();
  CpuContention stop() const;

 private:
  struct Counters {
    double run_queue_wait_s = 0, steal_s = 0;
    bool available = false;
  };
  static Counters read();
  std::chrono::steady_clock::time_point start_;
  Counters at_start_;
};

}  // namespace gpt2::cli
