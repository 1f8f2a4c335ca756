// The contention meter behind bench's "unsteady" flag: more busy threads than
// CPUs must show as run-queue wait.
#include "cli/cpu_contention.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace gpt2::cli {
namespace {

TEST(CpuContention, MoreBusyThreadsThanCpusWaitOnTheRunQueue) {
  const CpuContentionMeter meter;
  const int cpus = meter.stop().cpus;
  if (!meter.stop().available) GTEST_SKIP() << "this system reports no run-queue waits";
  // Two more busy threads than CPUs, for 300 ms: at least two are always
  // runnable and off a CPU, so the wait is about 2 x 0.3 s (less only if the
  // threads start late); 100 ms of it is a safe floor. The meter stops while
  // the threads still run: an ended thread's wait leaves /proc with it.
  std::atomic<bool> stop{false};
  std::vector<std::thread> busy;
  const CpuContentionMeter during;
  for (int i = 0; i < cpus + 2; ++i)
    busy.emplace_back([&] {
      volatile unsigned long spin = 0;
      while (!stop.load(std::memory_order_relaxed)) spin = spin + 1;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const CpuContention c = during.stop();
  stop = true;
  for (auto& t : busy) t.join();
  ASSERT_TRUE(c.available);
  EXPECT_GT(c.run_queue_wait_s, 0.1) << "over " << c.wall_s << " s on " << c.cpus << " CPUs";
  EXPECT_GT(c.run_queue_wait_fraction(), 0.0);
  EXPECT_GE(c.steal_fraction(), 0.0);
}

}  // namespace
}  // namespace gpt2::cli
