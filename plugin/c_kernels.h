// A plugin's C kernel set (gpt2_oracle/plugin.h) as the engine's Kernels, in
// this process: what the child process of a plugin runs (plugin/host.h), and
// what a test may run in-process to check a plugin's arithmetic.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gpt2_oracle/plugin.h"
#include "optimized/kernels.h"

namespace gpt2::plugin {

// Empty when `table` (what gpt2_oracle_plugin_entry returned) can be used:
// not NULL, this ABI version, 1 to 64 sets, each with a valid unique name,
// a one-line description (or none) and every required op. Otherwise one line
// saying what is wrong ("set 1 'x': attention is NULL").
std::string check_plugin_table(const gpt2_oracle_plugin* table);

// The Kernels of one C set on `weights`: create() is called here (and
// KernelsCreateFailed thrown when it returns NULL), destroy() by the
// destructor. Ops the set leaves NULL are the Kernels interface's defaults
// (project_gelu: project fc, then gelu).
class CKernels : public optimized::Kernels {
 public:
  CKernels(const gpt2_oracle_kernel_set& set, const Weights<float>& weights);
  ~CKernels() override;
  CKernels(const CKernels&) = delete;
  CKernels& operator=(const CKernels&) = delete;

  void embed(const optimized::Pass& pass, const int* tokens, float* x) override;
  void layer_norm(const optimized::Pass& pass, int layer, optimized::NormSite site, const float* x,
                  int rows, float* y) override;
  void project(const optimized::Pass& pass, int layer, optimized::Projection p, const float* x,
               float* y, bool accumulate) override;
  void project_gelu(const optimized::Pass& pass, int layer, const float* x, float* y) override;
  void gelu(float* x, size_t n) override;
  void write_cache(const optimized::Pass& pass, int layer, const float* qkv,
                   optimized::KvCache& cache) override;
  void attention(const optimized::Pass& pass, int layer, const float* qkv,
                 const optimized::KvCache& cache, float* out) override;
  void logits(const optimized::Pass& pass, const float* x, int rows, float* out) override;
  size_t weight_bytes_per_token() const override;

 private:
  gpt2_oracle_kv_cache c_cache(const optimized::KvCache& cache) const;

  const gpt2_oracle_kernel_set& set_;
  Weights<float> w_;  // what the C weights point into, for the instance's lifetime
  std::vector<gpt2_oracle_block_weights> blocks_;
  gpt2_oracle_weights c_weights_{};
  void* instance_ = nullptr;
};

// create() returned NULL.
class KernelsCreateFailed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A KernelSet (for the registry or a test) over a C set whose table outlives it.
optimized::KernelSet c_kernel_set(const gpt2_oracle_kernel_set& set);

}  // namespace gpt2::plugin
