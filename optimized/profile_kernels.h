// The kernels of the sets that implement precision profiles (model/profile.h):
// the `fast` set's PanelKernels with the roundings a profile declares inside
// the arithmetic, each at exactly the point the profile names and nowhere
// else; accumulation stays float32 everywhere. Registered by one file each
// (f16kv, bf16_autocast, f16_gelu_table and ggml_f16 _kernels.cpp, through
// profile_kernel_set); oracle/broken_kernels.cpp builds from them the broken
// sets that declare a profile but break it.
//
// The points, and the op that applies each (the traced tensors are as the
// profile's spec says: an op's own output, before a later op's rounding):
//   weights, norms_and_biases  rounded once, before construction
//                              (round_weights; the caller passes them rounded)
//   residual                   embed's output, and y after project(..., accumulate)
//                              (mid = x + attn_proj, block.l = mid + mlp_proj)
//   matmul_inputs              a rounded copy of x in project, project_gelu and
//                              logits (ln_1, attn, ln_2, gelu, ln_f outputs)
//   kv_cache                   keys and values as write_cache stores them, so
//                              attention reads them rounded in every mode
//   gelu = table_f16           gelu() and project_gelu: the f16 table (gelu_table.h)
//   attention_probs            not implemented here (the constructor refuses it)
// Every rounding is elementwise on top of the batch-invariant PanelKernels,
// and the *_batch ops round as the single ones do, so these sets are
// batch-invariant too.
#pragma once

#include <string>
#include <vector>

#include "model/profile.h"
#include "optimized/panel_kernels.h"

namespace gpt2::optimized {

class ProfileKernels : public PanelKernels {
 public:
  // `weights`: the weights the set computes with, already rounded as the
  // profile's weights and norms_and_biases say (round_weights), packed as
  // float32 holding those values (PanelKernels' bf16 storage would round
  // the biases and LayerNorms too, which bf16-autocast keeps in float32, and
  // it has no f16 storage). `roundings`: the profile whose other points the
  // ops apply (its weights and norms_and_biases are not looked at).
  ProfileKernels(const Weights<float>& weights, ThreadPool& pool, const Profile& roundings);

  void embed(const Pass& pass, const int* tokens, float* x) override;
  void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
               bool accumulate) override;
  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override;
  void gelu(float* x, size_t n) override;
  void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) override;
  void logits(const Pass& pass, const float* x, int rows, float* out) override;

  void project_batch(const BatchPass& batch, int layer, Projection p, const float* x, float* y,
                     bool accumulate) override;
  void project_gelu_batch(const BatchPass& batch, int layer, const float* x, float* y) override;
  void logits_batch(const BatchPass& batch, const float* x, float* out) override;

 protected:
  // GELU with gelu = table_f16, in place: gelu_f16_table_array (with the
  // clamps). Virtual for a broken set.
  virtual void table_gelu(float* x, size_t n);

 private:
  // x [rows, in] itself when matmul_inputs is f32, else a copy rounded to it
  // (in input_, which the ops reuse: they run one at a time).
  const float* matmul_input(const float* x, size_t n);
  // x [n] rounded in place to the residual format.
  void round_residual(float* x, size_t n) const;
  // The ops on `rows` rows (a pass's T, or a batch's B·T): the single and
  // the batch ops are the same code, as in PanelKernels.
  void project_rows(int layer, Projection p, const float* x, int rows, float* y, bool accumulate);
  void project_gelu_rows(int layer, const float* x, int rows, float* y);
  void logits_rows(const float* x, int rows, float* out);

  Profile roundings_;
  std::vector<float> input_;
};

// The KernelSet `name` of the built-in profile `profile`, on ProfileKernels:
// weights rounded by round_weights(·, profile) (also its effective_weights,
// when the profile rounds them), batch-invariant, declaring `profile`.
KernelSet profile_kernel_set(std::string name, std::string description, const std::string& profile);

}  // namespace gpt2::optimized
