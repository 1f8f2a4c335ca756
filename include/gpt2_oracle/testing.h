// gpt2-oracle's conformance suite as a GoogleTest assertion, for a project
// that checks its own kernel set against the oracle:
//
//   #include <gpt2_oracle/testing.h>
//
//   class MyKernels : public gpt2::optimized::EigenKernels { ... };
//
//   TEST(MyKernels, ConformsOnTiny) {
//     GPT2_ORACLE_EXPECT_CONFORMS(gpt2::check::kernel_set<MyKernels>("mine"), "tiny");
//   }
//
// linked with gpt2_oracle::testing (find_package(gpt2_oracle CONFIG)). The
// first argument is a KernelSet (registered or not) or a factory, the
// callable `std::unique_ptr<Kernels>(const Weights<float>&, ThreadPool&)`;
// the second a model (a preset name or a Hugging Face checkpoint directory)
// or a ConformanceCheck. Every scenario of `gpt2-oracle conformance` runs on
// the set, each trace judged against the 50-digit reference and every op
// replayed alone; the test fails with the located findings: per failing
// scenario the first tensor beyond budget (layer, op, position, error,
// budget, ratio), and replay's verdict per op and layer.
//
// The set runs in the test's own process: a crash takes the test down. For
// a set that may crash or hang, build it as a plugin (gpt2_oracle/plugin.h)
// and register it with gpt2_oracle_add_conformance_test (CMake), which runs
// each set in a child process.
#pragma once

#include <gtest/gtest.h>

#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "optimized/kernels.h"
#include "optimized/thread_pool.h"

namespace gpt2::check {

// What to run: the model, the seed of the token sequences, a filter on the
// scenario names, whether to replay each op.
struct ConformanceCheck {
  std::string model = "tiny";  // a preset name, or a checkpoint directory
  uint64_t seed = 1;
  std::string filter;  // only scenarios whose name contains this
  bool replay = true;
  int threads = 1;
  ConformanceCheck() = default;
  ConformanceCheck(const char* model_name) : model(model_name) {}             // NOLINT: implicit
  ConformanceCheck(std::string model_name) : model(std::move(model_name)) {}  // NOLINT: implicit
};

// A factory of kernels: builds a set's Kernels for the weights (and the
// thread pool, for sets that use one), as KernelSet::create.
// (clang-format 14 reads the template arguments of a concept's definition
// as comparisons, hence off.)
// clang-format off
template <class F>
concept KernelsFactory = std::is_invocable_r_v<std::unique_ptr<optimized::Kernels>, F,
                                               const Weights<float>&, optimized::ThreadPool&>;
// clang-format on

// The kernels under test: a KernelSet, or a factory (named by the text of
// the assertion's argument).
class KernelsUnderTest {
 public:
  KernelsUnderTest(optimized::KernelSet set) : set_(std::move(set)) {}  // NOLINT: implicit
  template <KernelsFactory Factory>
  KernelsUnderTest(Factory factory) {  // NOLINT: implicit
    set_.create = std::move(factory);
  }
  // The set, named `fallback` when it has no name of its own.
  optimized::KernelSet set(const std::string& fallback) const;

 private:
  optimized::KernelSet set_;
};

// A KernelSet of the Kernels subclass K, built from the weights (and the
// thread pool, when K's constructor takes it), unregistered.
template <class K>
optimized::KernelSet kernel_set(std::string name, std::string description = "") {
  optimized::KernelSet set;
  set.name = std::move(name);
  set.description = std::move(description);
  set.create = [](const Weights<float>& w,
                  optimized::ThreadPool& pool) -> std::unique_ptr<optimized::Kernels> {
    if constexpr (std::is_constructible_v<K, const Weights<float>&, optimized::ThreadPool&>)
      return std::make_unique<K>(w, pool);
    else
      return std::make_unique<K>(w);
  };
  return set;
}

// Runs the conformance suite on the set; success, or a failure whose message
// holds the located findings (and how to run the same from the command line
// when the set is a registered one).
::testing::AssertionResult conforms(const optimized::KernelSet& set, const ConformanceCheck& check);

// For EXPECT_PRED_FORMAT2: the arguments' text names a factory's set.
::testing::AssertionResult assert_conforms(const char* kernels_text, const char* check_text,
                                           const KernelsUnderTest& kernels,
                                           const ConformanceCheck& check);

}  // namespace gpt2::check

// Non-fatal and fatal forms, as GoogleTest's EXPECT_* and ASSERT_*.
#define GPT2_ORACLE_EXPECT_CONFORMS(kernels, model) \
  EXPECT_PRED_FORMAT2(::gpt2::check::assert_conforms, kernels, model)
#define GPT2_ORACLE_ASSERT_CONFORMS(kernels, model) \
  ASSERT_PRED_FORMAT2(::gpt2::check::assert_conforms, kernels, model)
