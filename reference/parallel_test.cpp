#include "reference/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace gpt2::reference {
namespace {

TEST(ParallelTest, EveryIndexIsVisitedExactlyOnce) {
  for (int threads : {1, 2, 3, 7}) {
    for (int64_t n : {0, 1, 5, 100, 1001}) {
      std::vector<std::atomic<int>> visits(n);
      Parallel(threads).for_each(n, kMinNanosecondsPerThread, [&](int64_t i) { ++visits[i]; });
      for (int64_t i = 0; i < n; ++i) EXPECT_EQ(visits[i], 1) << i << " of " << n;
    }
  }
}

TEST(ParallelTest, SmallWorkStaysOnOneThread) {
  const Parallel parallel(8);
  EXPECT_EQ(parallel.workers_for(1000, 1), 1);
  EXPECT_EQ(parallel.workers_for(3, kMinNanosecondsPerThread), 3);
  EXPECT_EQ(parallel.workers_for(100, kMinNanosecondsPerThread), 8);
  EXPECT_EQ(Parallel(1).workers_for(100, kMinNanosecondsPerThread), 1);
  EXPECT_GE(Parallel(0).threads(), 1);  // 0 = all cores
}

TEST(ParallelTest, AnExceptionInAWorkerReachesTheCaller) {
  EXPECT_THROW(Parallel(2).for_each(10, kMinNanosecondsPerThread,
                                    [](int64_t i) {
                                      if (i == 9) throw std::runtime_error("item 9");
                                    }),
               std::runtime_error);
}

}  // namespace
}  // namespace gpt2::reference
