#include "optimized/thread_pool.h"

#include "model/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GPT2_CPU_RELAX() _mm_pause()
#else
#define GPT2_CPU_RELAX() ((void)0)
#endif

namespace gpt2::optimized {

namespace {
// Spin iterations before sleeping: about 10-30 µs (PAUSE takes 10-140 cycles
// depending on the CPU), long enough to bridge the gap between two kernels of
// one forward pass, short enough not to steal a shared core for long.
constexpr int kSpinIterations = 1000;

}  // namespace

template <class Pred>
void ThreadPool::spin_then_wait(Pred done) {
  for (int i = 0; i < kSpinIterations; ++i) {
    if (done()) return;
    GPT2_CPU_RELAX();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, done);
}

void ThreadPool::notify() {
  { std::lock_guard<std::mutex> lock(mutex_); }  // orders the change before a sleeper's check
  wake_.notify_all();
}

ThreadPool::ThreadPool(int threads) : size_(threads) {
  GPT2_CHECK(threads >= 1, "a thread pool needs at least one thread");
  workers_.reserve(threads - 1);
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker(t); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  notify();
  for (auto& w : workers_) w.join();
}

void ThreadPool::run_share(int thread) {
  const int64_t n = n_;
  const int begin = static_cast<int>(n * thread / size_);
  const int end = static_cast<int>(n * (thread + 1) / size_);
  if (begin >= end) return;
  try {
    task_(ctx_, begin, end, thread);
  } catch (...) {
    bool expected = false;
    if (has_error_.compare_exchange_strong(expected, true)) error_ = std::current_exception();
  }
}

void ThreadPool::run(int n, Task task, void* ctx) {
  if (size_ == 1) {
    task(ctx, 0, n, 0);
    return;
  }
  task_ = task;
  ctx_ = ctx;
  n_ = n;
  error_ = nullptr;
  has_error_.store(false, std::memory_order_relaxed);
  pending_.store(size_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  notify();
  run_share(0);
  spin_then_wait([&] { return pending_.load(std::memory_order_acquire) == 0; });
  if (has_error_.load(std::memory_order_acquire)) std::rethrow_exception(error_);
}

void ThreadPool::worker(int thread) {
  // Generation 0 is the state at construction: a job posted before this
  // thread got here (generation 1) must still be seen as new.
  uint32_t seen = 0;
  while (true) {
    spin_then_wait([&] { return generation_.load(std::memory_order_acquire) != seen; });
    seen = generation_.load(std::memory_order_acquire);
    if (stop_.load(std::memory_order_acquire)) return;
    run_share(thread);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) notify();
  }
}

}  // namespace gpt2::optimized
