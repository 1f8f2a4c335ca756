// The optimized engine: KV-cached float32 GPT-2 over a pluggable kernel set.
//
//   Engine engine(weights, find_kernel("fast"), threads);
//   auto logits = engine.prefill(prompt);         // one batched pass, [V] of the last position
//   for (...) logits = engine.decode(next);       // one query against the cache
//
// The engine owns the cache (kv_cache.h), the scratch buffers (allocated once,
// at construction, for up to P positions) and the order of operations
// (kernels.h); the kernel set does the arithmetic. A prompt may be prefilled
// in several calls (chunks): the cache is the same as after one call.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "optimized/kernels.h"
#include "optimized/kv_cache.h"
#include "optimized/thread_pool.h"

namespace gpt2::optimized {

// Which positions of a prefill get logits.
enum class Logits { none, last, all };

class Engine {
 public:
  // threads >= 1. The engine keeps what it needs of `weights` (the kernels
  // copy or repack them), so the caller may free them afterwards.
  Engine(const Weights<float>& weights, const KernelSet& kernels, int threads);
  ~Engine();

  const Config& config() const { return config_; }
  const std::string& kernel_name() const { return kernel_name_; }
  int threads() const { return pool_.size(); }
  int position() const { return position_; }  // tokens in the cache
  size_t weight_bytes_per_token() const { return kernels_->weight_bytes_per_token(); }
  size_t cache_bytes() const { return cache_.bytes(); }

  // Empties the cache (position 0).
  void reset() { position_ = 0; }

  // Runs `tokens` at positions position() .. position()+T-1 in one pass and
  // appends their keys and values to the cache. `mask` applies among this
  // pass's queries (Mask::none: each sees every key written so far, its own
  // pass included); cached keys of earlier passes are always visible. Returns
  // the logits: [V] of the last position, [T, V] for Logits::all, empty for
  // Logits::none. Throws InputError for an empty list, a token outside
  // [0, V) or positions beyond the context (nothing is changed then).
  std::span<const float> prefill(std::span<const int> tokens, Mask mask = Mask::causal,
                                 Logits which = Logits::last);

  // One token at position(): one query against the cache. Returns [V].
  std::span<const float> decode(int token);

  // While set, every pass copies its rows of the trace tensors (embed,
  // block.{l}, ln_f, logits, and the op tensors when `trace` is at
  // TraceLevel::ops) into `trace` at their absolute positions (and computes
  // logits for every position). `trace` must have room for them.
  void set_capture(Trace<double>* trace) { capture_ = trace; }

 private:
  std::span<const float> pass(const int* tokens, int T, Mask mask, bool decode, Logits which);
  void capture_rows(std::vector<double>& dst, const float* src, int pos0, int rows, int width);

  Config config_;
  std::string kernel_name_;
  ThreadPool pool_;
  std::unique_ptr<Kernels> kernels_;
  KvCache cache_;
  int position_ = 0;
  // Scratch, [P, ·] each: residual stream, normed input, qkv, attention
  // output, mlp hidden; logits [V] (grown to [T, V] on a Logits::all request).
  std::vector<float> x_, h_, qkv_, att_, fc_, logits_;
  Trace<double>* capture_ = nullptr;
};

// A whole trace (every position, every DESIGN tensor, widened to double):
//   Mode::full         one prefill of all tokens with `mask`;
//   Mode::incremental  a prefill of the first token, then one decode per token
//                      (mask is then irrelevant: no pass has a future key);
//   Mode::chunked      prefills of `chunk` tokens each (the last may be
//                      shorter), `mask` applying within each chunk.
// `level`: TraceLevel::ops adds the op tensors of every block (model/trace.h).
// Throws InputError for bad tokens, chunk < 1 in chunked mode or an unknown kernel.
Trace<double> run_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                        const std::string& kernel, Mode mode, int chunk, Mask mask, int threads,
                        TraceLevel level = TraceLevel::blocks);

}  // namespace gpt2::optimized
