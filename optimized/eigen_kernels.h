// The `eigen` kernel set: straightforward Eigen float32, one expression per
// equation, single-threaded. The readable baseline every other set is tested
// against, and the natural base class for a variant that changes one
// operation (derive, override, register).
#pragma once

#include <memory>

#include "optimized/kernels.h"

namespace gpt2::optimized {

class EigenKernels : public Kernels {
 public:
  explicit EigenKernels(const Weights<float>& weights);

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

 protected:
  // Hooks, each one step of the maths, so that a variant (a new kernel, or a
  // deliberately broken one in a test) overrides one line, not a whole op.
  //
  // The first key position the query at absolute position `pos` cannot see:
  // pos + 1 under Mask::causal, pass.end() under Mask::none.
  virtual int visible_keys(const Pass& pass, int pos) const;
  // The factor of the attention scores q·k: 1 / sqrt(HS).
  virtual float score_scale() const;
  // scores [n] <- softmax(scores), with the max subtracted before exp.
  virtual void softmax(float* scores, int n) const;
  // 1 / sqrt(var + eps), the normalising factor of the LayerNorm at `site`
  // of block `layer`.
  virtual float inverse_std(int layer, NormSite site, float variance, float eps) const;

  // LayerNorm weight and bias of a site.
  const std::vector<float>& norm_weight(int layer, NormSite site) const;
  const std::vector<float>& norm_bias(int layer, NormSite site) const;
  const std::vector<float>& projection_weight(int layer, Projection p) const;
  const std::vector<float>& projection_bias(int layer, Projection p) const;

  Weights<float> w_;  // a copy: the engine does not require the caller's to outlive it
};

}  // namespace gpt2::optimized
