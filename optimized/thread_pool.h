// A small deterministic thread pool for the optimized engine.
//
// parallel_for(n, f, grain) cuts [0, n) into chunks of `grain` indices (the
// last may be shorter; grain 0: one chunk per thread) and runs f(begin, end,
// thread) once per chunk. The chunks are handed out in order, one at a time,
// to whichever thread asks first, the calling thread included: a thread that
// the OS deschedules (another process wants the core) or that wakes late
// holds up only the chunk it is running, and the others take the rest. The
// caller waits until every chunk is done, not for the other threads to show
// up. `thread` (0 <= thread < size()) names the running thread, so that f can
// pick its private scratch; no two chunks running at once share it. A pool
// of one thread (or a job of one chunk) makes one call f(0, n, 0).
//
// Callers split work so that every output element is computed by exactly one
// chunk, and a chunk's results do not depend on the thread that runs it: the
// results then do not depend on the thread count nor on the schedule.
// No allocation per call (the callable is passed by pointer), so the decode
// loop can use it freely. Idle workers spin briefly, then sleep on a
// condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace gpt2::optimized {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads >= 1 (the caller counts as one)
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Blocks until every chunk is done; rethrows the first exception of any.
  template <class F>
  void parallel_for(int n, F&& f, int grain = 0) {
    if (n <= 0) return;
    auto trampoline = [](void* ctx, int begin, int end, int thread) {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(begin, end, thread);
    };
    run(n, grain, trampoline, const_cast<void*>(static_cast<const void*>(&f)));
  }

  // At most this many chunks per job (a chunk index is 16 bits of the claim
  // word); a finer grain is coarsened to fit.
  static constexpr int kMaxChunks = 0xFFFF;

 private:
  using Task = void (*)(void*, int, int, int);
  void run(int n, int grain, Task task, void* ctx);
  void run_chunks(int thread, uint32_t generation);
  void worker(int thread);
  template <class Pred>
  void spin_then_wait(Pred done);  // spins briefly, then sleeps on wake_
  void notify();                   // wakes every sleeper of spin_then_wait

  int size_ = 1;
  std::vector<std::thread> workers_;
  // The current job, written by the caller before it publishes the claim
  // word (release) and read by a thread after it claims a chunk (acquire).
  // Atomic (relaxed) because a worker that saw an older generation may read
  // them while the next job is being written; it then fails to claim.
  std::atomic<Task> task_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> n_{0}, grain_{1};
  // The claim word: generation (32 bits) | chunk count (16) | next chunk (16).
  // A thread claims chunk i of generation g by one compare-exchange from
  // (g, count, i) with i < count; a thread still looking at an older job
  // fails, so no chunk runs twice or under the wrong job.
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int> done_{0};  // chunks finished in the current job
  alignas(64) std::atomic<uint32_t> generation_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::exception_ptr error_;
  std::atomic<bool> has_error_{false};
};

}  // namespace gpt2::optimized
