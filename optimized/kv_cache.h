// The key/value cache of the optimized engine.
//
// Per block, keys and values for every slot (a position of the context, by
// default), head-major so that one head's keys are contiguous (the attention
// kernels stream them):
//   keys, values  [L, NH, S, HS]     S = slots (n_ctx unless given)
// Allocated once, at construction.
//
// A view (view_from) shares the storage of a cache and starts at one of its
// slots: slot s of the view is slot origin + s of the cache. A row of a
// padded batch (engine.h) is a view from its first real token, so that its
// keys and values sit at slots 0, 1, ... = its position ids, exactly as in a
// cache of the row run alone, and a kernel's attention over keys 0 .. n-1
// never sees the padding before them.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/error.h"

namespace gpt2::optimized {

class KvCache {
 public:
  // A cache of `slots` slots per head (0: n_ctx).
  explicit KvCache(const Config& config, int slots = 0)
      : n_head_(config.n_head),
        slots_(slots > 0 ? slots : config.n_ctx),
        head_size_(config.head_size()),
        storage_(std::make_shared<Storage>(size_t(config.n_layer) * config.n_head * slots_ *
                                           config.head_size())),
        stride_(slots_) {}
  KvCache(KvCache&&) noexcept = default;
  KvCache& operator=(KvCache&&) noexcept = default;

  int n_head() const { return n_head_; }
  int head_size() const { return head_size_; }
  // Slots per head from slot 0 of this cache (or view) on.
  int n_ctx() const { return slots_; }

  // The HS floats of the key (value) of `head` at slot `pos`.
  float* key(int layer, int head, int pos) {
    return storage_->keys.data() + offset(layer, head, pos);
  }
  float* value(int layer, int head, int pos) {
    return storage_->values.data() + offset(layer, head, pos);
  }
  const float* key(int layer, int head, int pos) const {
    return storage_->keys.data() + offset(layer, head, pos);
  }
  const float* value(int layer, int head, int pos) const {
    return storage_->values.data() + offset(layer, head, pos);
  }

  // The same storage seen from slot `origin` on (0 <= origin <= n_ctx()).
  // Writes through the view change this cache; the view keeps the storage
  // alive.
  KvCache view_from(int origin) const {
    GPT2_CHECK(origin >= 0 && origin <= slots_, "a view starts inside the cache");
    KvCache view = *this;
    view.origin_ += origin;
    view.slots_ -= origin;
    return view;
  }

  // Slots per head of the storage: the distance from a head's slot 0 to the
  // next head's, whatever slot this view starts at.
  int stride() const { return stride_; }

  // Which cache this is: the same for every view of the same storage from
  // the same slot (the engine hands a row's cache to the kernels as a fresh
  // view each call), different for other storage or another origin.
  const void* identity() const { return key(0, 0, 0); }

 private:
  // A copy would share the storage: only view_from makes one, on purpose.
  KvCache(const KvCache&) = default;
  KvCache& operator=(const KvCache&) = default;
  struct Storage {
    explicit Storage(size_t n) : keys(n, 0.0f), values(n, 0.0f) {}
    std::vector<float> keys, values;
  };
  size_t offset(int layer, int head, int pos) const {
    return ((size_t(layer) * n_head_ + head) * stride_ + origin_ + pos) * head_size_;
  }
  int n_head_, slots_, head_size_;
  std::shared_ptr<Storage> storage_;
  int stride_;      // slots per head of the storage
  int origin_ = 0;  // slot of the storage that is this view's slot 0
};

}  // namespace gpt2::optimized
