// The decode loop of the `fast` and `bf16` kernels allocates nothing: every
// buffer is sized at construction. Global operator new is replaced in this
// test binary to count allocations while a test asks for it.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "optimized/engine.h"
#include "optimized/model_test_support.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
}  // namespace

// GCC warns that free() does not match new: it does here, both are ours.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace gpt2::optimized {
namespace {

TEST(Engine, PanelKernelsDecodeWithoutAllocating) {
  const Config config = make_config(2, 4, 40, 16, 70);
  const Weights<float> w = testing::random_weights(config, 5);
  for (const char* kernel : {"fast", "bf16"}) {
    Engine engine(w, find_kernel(kernel), 2);
    engine.prefill(std::vector<int>{1, 2, 3});
    engine.decode(4);  // first use of every buffer
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 8; ++i) engine.decode(i);
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << kernel;
  }
}

// Nor does a batch's decode loop, once its first step has run.
TEST(Engine, PanelKernelsDecodeABatchWithoutAllocating) {
  const Config config = make_config(2, 4, 40, 16, 70);
  const Weights<float> w = testing::random_weights(config, 6);
  for (const char* kernel : {"fast", "bf16"}) {
    Engine engine(w, find_kernel(kernel), 2);
    engine.prefill_batch({{1, 2, 3}, {4}, {5, 6}});
    const std::vector<int> next = {7, 8, 9};
    engine.decode_batch(next);  // first use of every buffer
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 8; ++i) engine.decode_batch(next);
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0) << kernel;
  }
}

// The counter works (the replacement operator new is the one linked in).
TEST(Engine, AllocationCounterCountsOperatorNew) {
  g_allocations = 0;
  g_counting = true;
  auto* v = new std::vector<int>(10);
  g_counting = false;
  delete v;
  EXPECT_EQ(g_allocations.load(), 2);  // the vector and its buffer
}

}  // namespace
}  // namespace gpt2::optimized
