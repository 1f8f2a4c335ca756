// The kernels of the `fast` (float32 weights) and `bf16` (bfloat16 weights)
// sets: weights packed in column panels (panel_gemm.h), threaded over panels,
// bias and gelu fused into the matrix product, attention fused with an online
// softmax over the cache (online_attention.h), no allocation after
// construction. Threading splits only whole output elements, so results are
// bit-identical for any thread count.
#pragma once

#include <vector>

#include "optimized/kernels.h"
#include "optimized/panel_gemm.h"

namespace gpt2::optimized {

class PanelKernels : public Kernels {
 public:
  // Matrices are packed in `format`; with WeightFormat::bf16 every other
  // tensor is rounded to bf16 values too (the weights then equal
  // round_weights_to_bf16(weights)).
  PanelKernels(const Weights<float>& weights, ThreadPool& pool, WeightFormat format);

  void embed(const Pass& pass, const int* tokens, float* x) override;
  void layer_norm(const Pass& pass, int layer, NormSite site, const float* x, int rows,
                  float* y) override;
  void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
               bool accumulate) override;
  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override;
  void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                 float* out) override;
  void logits(const Pass& pass, const float* x, int rows, float* out) override;
  size_t weight_bytes_per_token() const override;

  // Batches: one call over all B·T rows (one GEMM reads each weight once for
  // the whole batch). Every output element is computed as for the row alone
  // (panel_gemm.h: one fma chain per element, whatever T), so the sets are
  // batch-invariant.
  void layer_norm_batch(const BatchPass& batch, int layer, NormSite site, const float* x,
                        float* y) override;
  void project_batch(const BatchPass& batch, int layer, Projection p, const float* x, float* y,
                     bool accumulate) override;
  void project_gelu_batch(const BatchPass& batch, int layer, const float* x, float* y) override;
  void logits_batch(const BatchPass& batch, const float* x, float* out) override;
  // The default's attention row by row, in one parallel_for over (row, head,
  // query) instead of one per row.
  void attention_batch(const BatchPass& batch, int layer, const float* qkv,
                       std::span<const KvCache> caches, float* out) override;

 protected:
  struct Layer {
    PanelMatrix matrix[4];                                              // indexed by Projection
    std::vector<float> bias[4];                                         // [out]
    std::vector<float> ln_1_weight, ln_1_bias, ln_2_weight, ln_2_bias;  // [C]
  };
  void run_gemm(const float* x, int T, const PanelMatrix& w, const float* bias, float* y,
                Epilogue e);
  // Work is cut into about kChunksPerThread chunks per thread (ThreadPool
  // hands them out as threads come free), each a multiple of `multiple` items.
  static constexpr int kChunksPerThread = 8;
  int chunk_grain(int n, int multiple) const;

  Config config_;
  ThreadPool& pool_;
  PanelMatrix lm_head_;     // wteᵀ [C, V]; also the embedding table
  std::vector<float> wpe_;  // [P, C]
  std::vector<Layer> layers_;
  std::vector<float> ln_f_weight_, ln_f_bias_;  // [C]
  std::vector<AlignedVector<float>> scratch_;   // per thread: gemm_scratch_floats(4C)
};

// Every tensor of `weights` rounded to bfloat16 (nearest, ties to even) and
// widened back: the weights the `bf16` set computes with.
Weights<float> round_weights_to_bf16(const Weights<float>& weights);

}  // namespace gpt2::optimized
