// A kernel set of an outside project, checked by gpt2-oracle: attention in
// one pass over the keys with a running maximum and rescaled running sums
// (FlashAttention's online softmax), every other op as gpt2-oracle's `eigen`
// set. Built against the installed package (find_package(gpt2_oracle)).
#pragma once

#include <optimized/eigen_kernels.h>

namespace external {

class OnlineAttentionKernels : public gpt2::optimized::EigenKernels {
 public:
  using EigenKernels::EigenKernels;

  // out [T, C] = per head, softmax(q·Kᵀ / sqrt(HS)) · V over the visible keys,
  // in one pass: m = max so far, l = Σ exp(s - m), acc = Σ exp(s - m)·v,
  // each rescaled by exp(m_old - m_new) when the maximum grows.
  void attention(const gpt2::optimized::Pass& pass, int layer, const float* qkv,
                 const gpt2::optimized::KvCache& cache, float* out) override;
};

}  // namespace external
