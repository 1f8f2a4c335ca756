#include "optimized/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace gpt2::optimized {
namespace {

TEST(ThreadPool, EveryIndexRunsExactlyOnceInContiguousShares) {
  for (int threads = 1; threads <= 4; ++threads) {
    ThreadPool pool(threads);
    for (int n = 0; n <= 37; ++n) {
      std::vector<int> hits(n, 0), owner(n, -1);
      pool.parallel_for(n, [&](int begin, int end, int thread) {
        for (int i = begin; i < end; ++i) {
          ++hits[i];
          owner[i] = thread;
        }
      });
      for (int i = 0; i < n; ++i) {
        EXPECT_EQ(hits[i], 1) << "threads=" << threads << " n=" << n << " i=" << i;
        if (i > 0) {
          EXPECT_LE(owner[i - 1], owner[i]) << "shares are contiguous, in thread order";
        }
      }
    }
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
