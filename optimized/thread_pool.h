// A small deterministic thread pool for the optimized engine.
//
// parallel_for(n, f) splits [0, n) into one contiguous share per thread and
// runs f(begin, end, thread) on each share, the calling thread taking share 0.
// Callers split work so that every output element is computed by exactly one
// task in a fixed order: the results then do not depend on the thread count.
// No allocation per call (the callable is passed by pointer), so the decode
// loop can use it freely. Workers spin briefly, then sleep on a condition variable.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace gpt2::optimized {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads >= 1 (the caller counts as one)
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  // Thread t (0 <= t < size()) runs f(n·t/size, n·(t+1)/size, t). Blocks
  // until every share is done; rethrows the first exception of any share.
  template <class F>
  void parallel_for(int n, F&& f) {
    if (n <= 0) return;
    auto trampoline = [](void* ctx, int begin, int end, int thread) {
      (*static_cast<std::remove_reference_t<F>*>(ctx))(begin, end, thread);
    };
    run(n, trampoline, const_cast<void*>(static_cast<const void*>(&f)));
  }

 private:
  using Task = void (*)(void*, int, int, int);
  void run(int n, Task task, void* ctx);
  void run_share(int thread);
  void worker(int thread);
  template <class Pred>
  void spin_then_wait(Pred done);  // spins briefly, then sleeps on wake_
  void notify();                   // wakes every sleeper of spin_then_wait

  int size_ = 1;
  std::vector<std::thread> workers_;
  // The current job (written by the caller before bumping generation_).
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  int n_ = 0;
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint32_t> pending_{0};  // workers still running the current job
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::exception_ptr error_;
  std::atomic<bool> has_error_{false};
};

}  // namespace gpt2::optimized
