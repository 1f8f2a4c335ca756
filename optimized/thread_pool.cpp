#include "optimized/thread_pool.h"

#include <algorithm>
#include <chrono>

#include "model/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GPT2_CPU_RELAX() _mm_pause()
#else
#define GPT2_CPU_RELAX() ((void)0)
#endif

namespace gpt2::optimized {

namespace {
using Clock = std::chrono::steady_clock;
// How long an idle thread spins before it sleeps. A wait longer than that
// costs a futex sleep and wake (tens of µs on a virtual machine), and the
// sleeper takes no chunk meanwhile. 200 µs outlasts the waits of a decode
// step: one chunk of one group of panels (8-130 µs), LayerNorm and the
// hand-offs (a few µs). Measured on gpt2-124m-shape, 2 threads, the variants
// interleaved in one process (24 rounds of 32 steps): a bf16 decode step took
// 13.1 ms with the former 1000 PAUSEs (~12 µs on this Xeon, whose PAUSE takes
// ~12 ns) and 12.2-12.4 ms at 100-400 µs, with 0.1-0.3 sleeps per step
// instead of 6-11; f32 steps 3% shorter. Spinning is no worse for other
// processes than the work itself: the scheduler preempts a spinner as it
// would any running thread, and a preempted thread holds up only its chunk.
constexpr auto kSpinTime = std::chrono::microseconds(200);
// PAUSEs between two looks at the clock while spinning (PAUSE takes 10-140
// cycles depending on the CPU: at most a few µs).
constexpr int kPausesPerClockCheck = 64;

constexpr uint64_t claim_word(uint32_t generation, uint32_t chunks, uint32_t next) {
  return (uint64_t(generation) << 32) | (uint64_t(chunks) << 16) | next;
}
}  // namespace

template <class Pred>
void ThreadPool::spin_then_wait(Pred done) {
  const auto deadline = Clock::now() + kSpinTime;
  for (int i = 1;; ++i) {
    if (done()) return;
    GPT2_CPU_RELAX();
    if (i % kPausesPerClockCheck == 0 && Clock::now() >= deadline) break;
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

void ThreadPool::run_chunks(int thread, uint32_t generation) {
  uint64_t word = claim_.load(std::memory_order_acquire);
  while (true) {
    const uint32_t chunks = uint32_t(word >> 16) & 0xFFFF, next = uint32_t(word) & 0xFFFF;
    if (uint32_t(word >> 32) != generation || next >= chunks) return;
    if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      continue;  // word now holds the current value
    // Chunk `next` of this generation is ours; the job cannot change before
    // it is done, so these are this job's values.
    const int n = n_.load(std::memory_order_relaxed),
              grain = grain_.load(std::memory_order_relaxed);
    const int begin = int(next) * grain, end = std::min(n, begin + grain);
    try {
      task_.load(std::memory_order_relaxed)(ctx_.load(std::memory_order_relaxed), begin, end,
                                            thread);
    } catch (...) {
      bool expected = false;
      if (has_error_.compare_exchange_strong(expected, true)) error_ = std::current_exception();
    }
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == int(chunks) && thread != 0) notify();
    word = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(int n, int grain, Task task, void* ctx) {
  if (grain <= 0) grain = (n + size_ - 1) / size_;
  grain = std::max(grain, (n + kMaxChunks - 1) / kMaxChunks);
  const int chunks = (n + grain - 1) / grain;
  if (size_ == 1 || chunks == 1) {
    task(ctx, 0, n, 0);
    return;
  }
  task_.store(task, std::memory_order_relaxed);
  ctx_.store(ctx, std::memory_order_relaxed);
  n_.store(n, std::memory_order_relaxed);
  grain_.store(grain, std::memory_order_relaxed);
  error_ = nullptr;
  has_error_.store(false, std::memory_order_relaxed);
  done_.store(0, std::memory_order_relaxed);
  const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  claim_.store(claim_word(generation, uint32_t(chunks), 0), std::memory_order_release);
  generation_.store(generation, std::memory_order_release);
  notify();
  run_chunks(0, generation);
  spin_then_wait([&] { return done_.load(std::memory_order_acquire) == chunks; });
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
    run_chunks(thread, seen);
  }
}

}  // namespace gpt2::optimized
