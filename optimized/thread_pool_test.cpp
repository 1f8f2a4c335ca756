#include "optimized/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace gpt2::optimized {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnceInChunksOfTheGrain) {
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    for (int n = 0; n <= 37; ++n)
      for (int grain = 0; grain <= 5; ++grain) {
        SCOPED_TRACE(::testing::Message()
                     << "threads=" << threads << " n=" << n << " grain=" << grain);
        // One thread: one call over the whole range.
        const int expected_grain = threads == 1 ? n
                                   : grain > 0  ? grain
                                                : (n + threads - 1) / threads;
        std::vector<int> hits(n, 0);
        std::vector<std::atomic<int>> running(threads);
        std::atomic<bool> shared_thread{false};
        pool.parallel_for(
            n,
            [&](int begin, int end, int thread) {
              ASSERT_TRUE(0 <= thread && thread < threads);
              if (running[thread].fetch_add(1) != 0) shared_thread = true;
              EXPECT_EQ(begin % expected_grain, 0);
              EXPECT_EQ(end, std::min(n, begin + expected_grain));
              for (int i = begin; i < end; ++i) ++hits[i];
              running[thread].fetch_sub(1);
            },
            grain);
        for (int i = 0; i < n; ++i) EXPECT_EQ(hits[i], 1) << "i=" << i;
        EXPECT_FALSE(shared_thread) << "two chunks ran at once under one thread id";
      }
  }
}

// A worker stuck in its chunk (as when the OS deschedules it) holds up only
// that chunk: the calling thread takes every other one. With fixed shares the
// stuck chunk would wait for its own share's other chunks and never finish
// (the test then fails on the timeout instead of hanging).
TEST(ThreadPool, AStuckWorkerHoldsUpOnlyItsOwnChunk) {
  ThreadPool pool(2);
  for (int job = 0; job < 20; ++job) {
    constexpr int n = 16;
    std::atomic<int> finished{0};
    std::atomic<bool> timed_out{false};
    pool.parallel_for(
        n,
        [&](int, int, int thread) {
          if (thread != 0) {
            // Wait until every other chunk is finished, by whoever ran it.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
            while (finished.load() < n - 1)
              if (std::chrono::steady_clock::now() > deadline) {
                timed_out = true;
                break;
              }
          }
          finished.fetch_add(1);
        },
        1);
    EXPECT_EQ(finished.load(), n);
    ASSERT_FALSE(timed_out) << "the other chunks waited for the stuck worker (job " << job << ")";
  }
}

TEST(ThreadPool, ManyBackToBackJobs) {
  ThreadPool pool(3);
  long long total = 0;
  std::vector<long long> part(3, 0);
  for (int job = 0; job < 2000; ++job) {
    pool.parallel_for(10, [&](int begin, int end, int thread) { part[thread] += end - begin; });
  }
  for (long long p : part) total += p;
  EXPECT_EQ(total, 20000);
}

TEST(ThreadPool, RethrowsAnExceptionFromAnyShare) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(4,
                                 [&](int begin, int, int) {
                                   if (begin >= 2) throw std::runtime_error("share 1");
                                 }),
               std::runtime_error);
  std::atomic<int> ran{0};
  pool.parallel_for(2, [&](int begin, int end, int) { ran += end - begin; });  // still usable
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace gpt2::optimized
