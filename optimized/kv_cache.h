// The key/value cache of the optimized engine.
//
// Per block, keys and values for every position of the context, head-major so
// that one head's keys are contiguous (the attention kernels stream them):
//   keys, values  [L, NH, P, HS]
// Allocated once, at the engine's construction.
#pragma once

#include <cstddef>
#include <vector>

#include "model/config.h"

namespace gpt2::optimized {

class KvCache {
 public:
  explicit KvCache(const Config& config)
      : n_head_(config.n_head),
        n_ctx_(config.n_ctx),
        head_size_(config.head_size()),
        keys_(size_t(config.n_layer) * config.n_embd * config.n_ctx, 0.0f),
        values_(keys_.size(), 0.0f) {}

  int n_head() const { return n_head_; }
  int n_ctx() const { return n_ctx_; }
  int head_size() const { return head_size_; }

  // The HS floats of the key (value) of `head` at absolute position `pos`.
  float* key(int layer, int head, int pos) { return keys_.data() + offset(layer, head, pos); }
  float* value(int layer, int head, int pos) { return values_.data() + offset(layer, head, pos); }
  const float* key(int layer, int head, int pos) const {
    return keys_.data() + offset(layer, head, pos);
  }
  const float* value(int layer, int head, int pos) const {
    return values_.data() + offset(layer, head, pos);
  }

  size_t bytes() const { return (keys_.size() + values_.size()) * sizeof(float); }

 private:
  size_t offset(int layer, int head, int pos) const {
    return ((size_t(layer) * n_head_ + head) * n_ctx_ + pos) * head_size_;
  }
  int n_head_, n_ctx_, head_size_;
  std::vector<float> keys_;
  std::vector<float> values_;
};

}  // namespace gpt2::optimized
