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
//
// A batch of sequences (model/batch.h) runs beside the single sequence:
//
//   auto logits = engine.prefill_batch({{5, 17, 3}, {8}}, {Padding::left});  // [B, V]
//   for (...) logits = engine.decode_batch(next);  // one token per row, [B, V]
//
// prefill_batch pads the prompts to a rectangle [B, W], runs it in one pass
// and keeps one cache per row, its slots counted over the padding (slot c
// holds column c); a row's real tokens take the position ids of the row
// alone and the padding mask hides the padding's keys, so each row computes
// what it computes alone. decode_batch then runs one token per row per step,
// each at its own row's next position and cache slot (left padding: every
// row's next slot is the same column; right padding: each row writes over
// its own padding, so every row's cache holds exactly its own tokens).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "optimized/kernels.h"
#include "optimized/kv_cache.h"
#include "optimized/thread_pool.h"

namespace gpt2::optimized {

// Which positions of a prefill get logits.
enum class Logits { none, last, all };

// How prefill_batch runs a batch.
struct BatchOptions {
  Padding padding = Padding::left;
  Mask mask = Mask::causal;     // among each row's prompt tokens, as in prefill()
  Logits which = Logits::last;  // none, or the last token of each row ([B, V])
  // Decode steps to make room for in every row's cache (-1: up to the
  // context). A row's cache has min(n_ctx, W + max_new) slots.
  int max_new = -1;
  // The padding mask (model/batch.h): always on, except in an ablation
  // (mask-ablation --padding), where the padding's keys are then visible.
  bool padding_mask = true;
};

class Engine {
 public:
  // threads >= 1. The engine keeps what it needs of `weights` (the kernels
  // copy or repack them), so the caller may free them afterwards.
  Engine(const Weights<float>& weights, const KernelSet& kernels, int threads);
  ~Engine();

  const Config& config() const { return config_; }
  int threads() const { return pool_.size(); }
  int position() const { return position_; }  // tokens in the cache
  size_t weight_bytes_per_token() const { return kernels_->weight_bytes_per_token(); }

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

  // ---- batches ----

  // Starts a batch of prompts.size() sequences (the single sequence's cache
  // is left as it is): lays the prompts out (model/batch.h), runs the
  // rectangle in one pass and keeps one cache per row. Returns the logits of
  // each row's last token, [B, V] (Logits::last), or nothing (Logits::none).
  // Throws InputError, naming the row, for a bad batch (no rows, more than
  // kMaxBatchRows, an empty row, an id outside [0, V), a row longer than the
  // context) or options (max_new < -1, Logits::all); nothing changes then.
  std::span<const float> prefill_batch(const std::vector<std::vector<int>>& prompts,
                                       const BatchOptions& options = {});

  // One token per row (tokens [B]), each at its row's next position. Returns
  // [B, V]. Throws InputError for a count other than B, an id outside [0, V)
  // or a row whose next position is beyond the context or its cache (nothing
  // changes then).
  std::span<const float> decode_batch(std::span<const int> tokens);

  int batch_rows() const { return layout_.rows(); }               // 0 before any prefill_batch
  const BatchLayout& batch_layout() const { return layout_; }     // of the last prefill_batch
  int batch_position(int row) const { return lengths_.at(row); }  // tokens in the row's cache
  // Whether the padding mask hides the padding's keys from here on (an
  // ablation: mask-ablation --padding turns it off for decode steps).
  void set_padding_mask(bool on) { padding_mask_ = on; }

  // While set, every batch pass copies each row's real tokens' trace tensors
  // (as set_capture does) into traces[row] at their position ids. One trace
  // per row, each with room for its tokens.
  void set_batch_capture(std::vector<Trace<double>>* traces) { batch_capture_ = traces; }

 private:
  std::span<const float> pass(const int* tokens, int T, Mask mask, bool decode, Logits which);
  // One pass of the order of kernels.h over `batch` (tokens [B, T]) with the
  // rows' caches; `captures` (optional) one trace per row. Returns the logits
  // asked for: [B, V] of each row's last real column, or [B·T, V].
  std::span<const float> run(const BatchPass& batch, const int* tokens, std::span<KvCache> caches,
                             Logits which, Trace<double>* const* captures);
  void capture_rows(std::vector<double>& dst, const float* src, int pos0, int rows, int width);
  void reserve_rows(size_t rows);  // grows the scratch buffers to `rows` rows

  Config config_;
  ThreadPool pool_;
  std::unique_ptr<Kernels> kernels_;
  KvCache cache_;
  int position_ = 0;
  // Scratch, [max(P, B·W), ·] each: residual stream, normed input, qkv,
  // attention output, mlp hidden; logits [V] (grown to [rows, V] on request);
  // the rows whose logits are wanted, gathered [B, C].
  std::vector<float> x_, h_, qkv_, att_, fc_, logits_, last_;
  Trace<double>* capture_ = nullptr;
  // The batch: its layout, one cache per row, each row's first real slot
  // and real tokens cached so far; the rows of a pass (scratch).
  BatchLayout layout_;
  std::vector<KvCache> caches_;
  std::vector<int> key_begin_, lengths_;
  std::vector<BatchRow> rows_, last_rows_;
  Mask batch_mask_ = Mask::causal;
  bool padding_mask_ = true;
  std::vector<Trace<double>>* batch_capture_ = nullptr;
  std::vector<Trace<double>*> capture_rows_;  // scratch
};

// A whole trace (every position, every tensor of model/trace.h, widened to double):
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

// A trace of the passes of a conformance scenario: the first tokens
// prefilled in `chunks` (sizes in order; `mask` among each chunk's queries),
// then one decode step per remaining token. Throws InputError for bad tokens
// or chunks that do not fit them.
Trace<double> run_passes_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                               const std::vector<int>& chunks, const KernelSet& set, Mask mask,
                               int threads, TraceLevel level = TraceLevel::blocks);

// The traces of a batch: every row's first prompt_lengths[r] tokens
// prefilled together (prefill_batch with `options`; its max_new and which
// are set here), then the rest decoded one token per row per step (every row
// has the same number of tokens after its prompt). One trace per row, of its
// own tokens at their positions, as run_passes_trace gives for the row alone
// with chunks {prompt_lengths[r]}. Throws InputError for a bad batch.
std::vector<Trace<double>> run_batch_trace(const Weights<float>& weights,
                                           const std::vector<std::vector<int>>& rows,
                                           const std::vector<int>& prompt_lengths,
                                           const KernelSet& set, const BatchOptions& options,
                                           int threads, TraceLevel level = TraceLevel::blocks);

}  // namespace gpt2::optimized
