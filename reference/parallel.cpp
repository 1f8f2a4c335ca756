#include "reference/parallel.h"

#include <mpfr.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

#include "model/error.h"
#include "reference/team.h"

namespace gpt2::reference {

namespace {
std::atomic<const Team*> g_ambient_team{nullptr};
}  // namespace

const Team* ambient_team() { return g_ambient_team.load(); }
TeamScope::TeamScope(const Team* team) : previous_(g_ambient_team.exchange(team)) {}
TeamScope::~TeamScope() { g_ambient_team.store(previous_); }

Parallel::Parallel(int threads, const Team* team) : team_(team) {
  GPT2_CHECK(threads >= 0, "threads must be >= 0");
  threads_ = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  if (threads_ < 1) threads_ = 1;
}

int Parallel::workers_for(int64_t n, int64_t nanoseconds_per_item) const {
  const int64_t work = n * std::max<int64_t>(nanoseconds_per_item, 1);
  const int64_t by_work = std::max<int64_t>(work / kMinNanosecondsPerThread, 1);
  return static_cast<int>(std::clamp<int64_t>(std::min<int64_t>(n, by_work), 1, threads_));
}

void Parallel::for_each(int64_t n, int64_t nanoseconds_per_item,
                        const std::function<void(int64_t)>& body) const {
  if (n <= 0) return;
  const int workers = workers_for(n, nanoseconds_per_item);
  // Worker w gets [n·w / workers, n·(w+1) / workers).
  auto range = [&](int w) {
    const int64_t begin = n * w / workers, end = n * (w + 1) / workers;
    for (int64_t i = begin; i < end; ++i) body(i);
  };
  if (workers == 1) {
    range(0);
    return;
  }
  std::vector<std::exception_ptr> errors(workers);
  std::vector<std::thread> threads;
  threads.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) {
    threads.emplace_back([&, w] {
      try {
        range(w);
      } catch (...) {
        errors[w] = std::current_exception();
      }
      // MPFR keeps per-thread caches (constants such as log 2 used by exp);
      // free them before the thread ends, or they leak.
      mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    });
  }
  try {
    range(0);
  } catch (...) {
    errors[0] = std::current_exception();
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace gpt2::reference
