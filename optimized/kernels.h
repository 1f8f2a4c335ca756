// The kernel interface of the optimized engine, and the kernel registry.
//
// A kernel set provides the hot operations of a GPT-2 forward pass; the
// Engine (engine.h) owns the loop over blocks, the scratch buffers and the
// key/value cache and calls these operations in this order for a pass over T
// consecutive positions pos0 .. pos0+T-1:
//
//   x = embed(tokens)                                      x [T, C]
//   per block l:
//     h = layer_norm(ln_1, x);  qkv = project(qkv, h)      qkv [T, 3C]
//     write_cache(qkv)                                     keys/values at pos0+t
//     a = attention(qkv, cache);  x += project(attn_proj, a)
//     h = layer_norm(ln_2, x);  f = project_gelu(fc, h)    f [T, 4C]
//     x += project(mlp_proj, f)
//   h = layer_norm(ln_f, x);  logits = logits(h)          logits [rows, V]
//
// Every operation receives the Pass (absolute positions, mask, prefill or
// decode), so that a kernel set -- including a deliberately broken one in a
// test -- can express anything that depends on them: the cache slot written,
// the keys a query sees, the position embedding used.
//
// A batch (engine.h, model/batch.h) runs the same order of operations over B
// rows at once through the *_batch operations, each a default that calls the
// single-sequence operation row by row (so every set works in a batch as it
// is); a set overrides one to do the whole batch at once (one GEMM for all
// rows reads each weight once).
//
// Adding a kernel set is one new file and nothing else:
// optimized/NAME_kernels.cpp, defining a Kernels subclass (usually deriving
// from EigenKernels or another set and overriding a few operations) and
// `void register_NAME_kernels()`, which calls register_kernel_set. The build
// finds the file and generates the list that calls every register function
// (optimized/CMakeLists.txt); optimized/example_kernels.cpp is the commented
// template. A test binary may call register_kernel_set() for sets that only
// it knows; outside this repository, gpt2_oracle/testing.h takes a factory and
// gpt2_oracle/plugin.h a C table.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/weights.h"
#include "optimized/kv_cache.h"
#include "optimized/thread_pool.h"

namespace gpt2::optimized {

// One forward pass over T consecutive positions.
struct Pass {
  int pos0 = 0;      // absolute position of the pass's first token
  int n_tokens = 0;  // T
  // Among the pass's own queries: Mask::causal, query pos0+t sees keys
  // 0 .. pos0+t; Mask::none, every query sees keys 0 .. pos0+T-1. Keys of
  // earlier passes (positions < pos0) are always visible.
  Mask mask = Mask::causal;
  bool decode = false;  // a decode step (T = 1 against the cache) vs a prefill
  int end() const { return pos0 + n_tokens; }
};

// One row of a batch pass (BatchPass): T columns, cache slots counted over
// padding too, of which columns first .. first + count - 1 hold real tokens.
struct BatchRow {
  // The row's T columns as a pass over its cache's slots (pos0: the slot of
  // column 0) on the row's whole cache: what the row-wise operations and
  // write_cache see, and attention without the padding mask.
  Pass slots;
  int first = 0;  // the first real column
  int count = 0;  // real columns
  // The row's first real slot: the slots before it hold padding (left
  // padding), which the padding mask hides; slot key_begin + p holds the real
  // token of position id p.
  int key_begin = 0;
  // The real columns as the pass the row would be alone: pos0 = the position
  // id of column `first` (the count of real tokens before it), n_tokens =
  // count, on the row's cache seen from key_begin (KvCache::view_from), whose
  // slot p is then position p. The padding mask is this view: a query of
  // this pass sees no key before key_begin, and the mask of `real` hides the
  // keys after it.
  Pass real;
};

// One pass over a batch: B rows of T columns each. Row b's columns are rows
// b·T .. b·T + T-1 of every [B·T, ·] buffer, and row b has its own KvCache.
struct BatchPass {
  int n_rows = 0;    // B
  int n_tokens = 0;  // T
  Mask mask = Mask::causal;
  bool decode = false;
  // Whether the padding mask hides the padding's keys: always, except in an
  // ablation (mask-ablation --padding) or a deliberately broken set.
  bool padding_mask = true;
  int padding_position = 1;        // the position id of a padding column (model/batch.h)
  std::span<const BatchRow> rows;  // [B]
  int n_embd = 0;                  // C, and
  int vocab_size = 0;              // V: the widths of the buffers
};

enum class Projection { qkv, attn_proj, fc, mlp_proj };
// qkv: [C, 3C]; attn_proj: [C, C]; fc: [C, 4C]; mlp_proj: [4C, C].
int projection_in(const Config& config, Projection p);
int projection_out(const Config& config, Projection p);

enum class NormSite { ln_1, ln_2, ln_f };  // ln_f ignores the layer index

class Kernels {
 public:
  virtual ~Kernels() = default;

  // x [T, C] = wte[tokens[t]] + wpe[pos0 + t]
  virtual void embed(const Pass& pass, const int* tokens, float* x) = 0;

  // y [rows, C] = (x - mean) / sqrt(var + eps) · weight + bias, per row
  // (rows = T, or fewer for ln_f when only the last logits are needed).
  virtual void layer_norm(const Pass& pass, int layer, NormSite site, const float* x, int rows,
                          float* y) = 0;

  // y [T, out] = x [T, in] · W + b with block `layer`'s Conv1D weight W
  // [in, out]; with accumulate, y += x · W + b (the residual connection).
  virtual void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
                       bool accumulate) = 0;

  // y [T, 4C] = gelu_tanh(x [T, C] · W_fc + b_fc). Default: project, then gelu.
  virtual void project_gelu(const Pass& pass, int layer, const float* x, float* y);

  // x [n] = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))  (GPT-2's gelu_new)
  virtual void gelu(float* x, size_t n);

  // Stores the keys and values of the pass (qkv [T, 3C], columns C..2C and
  // 2C..3C, split into NH heads of HS) at positions pos0+t of block `layer`.
  virtual void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache);

  // out [T, C] = per head, softmax(q·Kᵀ / sqrt(HS)) · V over the keys the
  // query at pos0+t sees (see Pass::mask), queries from qkv [T, 3C] columns
  // 0..C, keys and values from the cache (already written for this pass).
  virtual void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                         float* out) = 0;

  // out [rows, V] = x [rows, C] · wteᵀ  (the tied lm_head)
  virtual void logits(const Pass& pass, const float* x, int rows, float* out) = 0;

  // Bytes of weights a decode step reads (projections and the lm_head, in
  // their stored format), for the bandwidth figure of `bench`.
  virtual size_t weight_bytes_per_token() const = 0;

  // ---- Batches: the operations above over every row of a BatchPass --------
  // Buffers are [B·T, ·], row b's T columns at rows b·T ..; caches [B].
  // Padding columns go through the row-wise operations like real ones (their
  // values, finite, are part of no result). Each default calls the
  // single-sequence operation once per row, with that row's passes:

  // x = embed(row.real) on the real columns; a padding column embeds its
  // token at batch.padding_position.
  virtual void embed_batch(const BatchPass& batch, const int* tokens, float* x);
  // layer_norm(row.slots, ..., rows = T) per row.
  virtual void layer_norm_batch(const BatchPass& batch, int layer, NormSite site, const float* x,
                                float* y);
  // project(row.slots, ...) per row.
  virtual void project_batch(const BatchPass& batch, int layer, Projection p, const float* x,
                             float* y, bool accumulate);
  // project_gelu(row.slots, ...) per row.
  virtual void project_gelu_batch(const BatchPass& batch, int layer, const float* x, float* y);
  // write_cache(row.slots, ...) per row into caches[b]: every column, padding
  // included, at its slot.
  virtual void write_cache_batch(const BatchPass& batch, int layer, const float* qkv,
                                 std::span<KvCache> caches);
  // With the padding mask: attention(row.real) on the real columns over
  // caches[b].view_from(row.key_begin), and 0 for a padding column (a
  // padding query sees no key). Without it: attention(row.slots) over the
  // whole caches[b].
  virtual void attention_batch(const BatchPass& batch, int layer, const float* qkv,
                               std::span<const KvCache> caches, float* out);
  // logits(row.slots, ..., rows = T) per row.
  virtual void logits_batch(const BatchPass& batch, const float* x, float* out);
};

// Thrown by a kernel set's op (or its factory) when the set cannot go on: a
// plugin whose child process crashed, exited, hung or broke the protocol
// (plugin/plugin.h). Not bad input and not a bug of gpt2-oracle: callers
// report it as that set's failure (exit 1) and go on with the other sets.
// hung(): the set stopped answering, so each further run of it would wait
// out the time limit again.
class KernelSetFailure : public std::runtime_error {
 public:
  KernelSetFailure(const std::string& what, bool hung) : std::runtime_error(what), hung_(hung) {}
  bool hung() const { return hung_; }

 private:
  bool hung_;
};

// A registered kernel set.
struct KernelSet {
  std::string name;         // "eigen", "fast", "bf16", ...
  std::string description;  // one line, for `gpt2-oracle kernels`
  // Builds the kernels for `weights`, running threaded work on `pool` (which
  // outlives the Kernels). The Kernels keep their own copy of what they need.
  std::function<std::unique_ptr<Kernels>(const Weights<float>& weights, ThreadPool& pool)> create;
  // The weights the set effectively computes with (e.g. rounded to bf16), so
  // the oracle can compute truth on the same weights; empty = unchanged.
  std::function<Weights<float>(const Weights<float>&)> effective_weights;
  // Batch-invariant: a row's results (its whole trace) are bit-identical
  // whatever the other rows of its batch, the batch size and the padding
  // side are, and equal to the row run alone. The oracle checks it bit for
  // bit for a set that declares it (and holds every set to the budget).
  bool batch_invariant = false;
  // Whether an instance can hold a batch: several rows, each with its own
  // KV cache. A plugin set's instance keeps one cache in its child process
  // (plugin ABI 1), so it runs single sequences only, and the batch
  // scenarios leave it out.
  bool runs_batches = true;
  // The precision profile whose arithmetic the set declares: the name of a
  // built-in profile (model/profile.h, builtin_profiles()), checked at
  // registration. "f32": float32 throughout. A set that rounds somewhere
  // declares where and to what (`bf16`: "bf16-weights"; `f16kv`: "f16-kv";
  // ...), so that the oracle can judge it on its own arithmetic: the truth
  // and the budget apply the profile's roundings (issue 16). A profile that
  // rounds the weights needs effective_weights = round_weights(weights,
  // profile) (checked at registration).
  std::string profile = "f32";

  Weights<float> weights_used(const Weights<float>& weights) const {
    return effective_weights ? effective_weights(weights) : weights;
  }
  // Whether the set computes in float32 on weights_used(): its profile rounds
  // nothing but the weights (weights, norms_and_biases), which
  // effective_weights already gives. Such a set (f32, bf16-weights) is judged
  // by the float32 rule as it is. Any other set (f16kv, bf16-autocast,
  // f16-gelu-table, ggml-f16) rounds inside its arithmetic: a float32 budget
  // does not apply to it, and the oracle judges it under its own profile.
  bool float32_arithmetic() const;
};

// The registry: on first use, the built-in sets register (one file each, in
// file name order: bf16-autocast, bf16, eigen, example, f16-gelu-table,
// f16kv, fast, ggml-f16); register_kernel_set adds one more (tests, plugins).
// Registering a name twice, or a set whose profile is not a built-in one, is
// an InternalError.
void register_kernel_set(KernelSet set);
const std::vector<KernelSet>& kernels();  // in registration order
// The registered sets that the float32 rule judges (float32_arithmetic()),
// in registration order: those that conformance, `fixtures verify` and replay
// run when no set is named. The others round inside their arithmetic and are
// judged under their own profile, named (issue 16).
std::vector<const KernelSet*> float32_kernel_sets();
// Throws InputError "unknown kernel set 'x' (known: bf16-autocast, bf16, ...)".
const KernelSet& find_kernel(const std::string& name);

}  // namespace gpt2::optimized
