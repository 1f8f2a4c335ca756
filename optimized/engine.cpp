#include "optimized/engine.h"

#include <algorithm>
#include <string>

#include "model/error.h"
#include "model/tokens.h"

namespace gpt2::optimized {

Engine::Engine(const Weights<float>& weights, const KernelSet& kernels, int threads)
    : config_(weights.config),
      pool_(std::max(1, threads)),
      kernels_(kernels.create(weights, pool_)),
      cache_(weights.config) {
  if (threads < 1)
    throw InputError("threads must be at least 1 (got " + std::to_string(threads) + ")");
  reserve_rows(config_.n_ctx);
  logits_.assign(config_.vocab_size, 0.0f);
}

Engine::~Engine() = default;

void Engine::reserve_rows(size_t rows) {
  const size_t C = config_.n_embd;
  if (x_.size() >= rows * C) return;
  x_.resize(rows * C, 0.0f);
  h_.resize(rows * C, 0.0f);
  qkv_.resize(rows * 3 * C, 0.0f);
  att_.resize(rows * C, 0.0f);
  fc_.resize(rows * 4 * C, 0.0f);
}

std::span<const float> Engine::prefill(std::span<const int> tokens, Mask mask, Logits which) {
  return pass(tokens.data(), static_cast<int>(tokens.size()), mask, false, which);
}

std::span<const float> Engine::decode(int token) {
  return pass(&token, 1, Mask::causal, true, Logits::last);
}

void Engine::capture_rows(std::vector<double>& dst, const float* src, int pos0, int rows,
                          int width) {
  GPT2_CHECK(dst.size() >= size_t(pos0 + rows) * width, "capture trace too short");
  for (size_t i = 0; i < size_t(rows) * width; ++i) dst[size_t(pos0) * width + i] = src[i];
}

std::span<const float> Engine::pass(const int* tokens, int T, Mask mask, bool decode,
                                    Logits which) {
  const int V = config_.vocab_size, P = config_.n_ctx;
  if (T < 1) throw InputError("no tokens to run (an empty prompt)");
  for (int t = 0; t < T; ++t)
    if (tokens[t] < 0 || tokens[t] >= V)
      throw InputError("token " + std::to_string(tokens[t]) + " at index " + std::to_string(t) +
                       " is outside the vocabulary [0, " + std::to_string(V) + ")");
  if (position_ + T > P)
    throw InputError(std::string(decode ? "decode" : "prefill") + " of " + std::to_string(T) +
                     " token(s) at position " + std::to_string(position_) +
                     " exceeds the context of " + std::to_string(P) + " positions");
  if (capture_) which = Logits::all;
  // The single sequence is a batch of one row without padding: its slots
  // are its positions.
  BatchRow row;
  row.slots = Pass{position_, T, mask, decode};
  row.count = T;
  row.real = row.slots;
  const BatchPass batch{1, T, mask, decode, true, padding_position_id(P), {&row, 1}, config_.n_embd,
                        V};
  Trace<double>* const captures[1] = {capture_};
  const std::span<const float> logits =
      run(batch, tokens, {&cache_, 1}, which, capture_ ? captures : nullptr);
  position_ += T;
  return logits;
}

std::span<const float> Engine::run(const BatchPass& batch, const int* tokens,
                                   std::span<KvCache> caches, Logits which,
                                   Trace<double>* const* captures) {
  const int B = batch.n_rows, T = batch.n_tokens, C = config_.n_embd, V = config_.vocab_size;
  const size_t N = size_t(B) * T;
  reserve_rows(N);  // allocates only for a batch larger than any before
  Kernels& k = *kernels_;
  float *x = x_.data(), *h = h_.data(), *qkv = qkv_.data(), *att = att_.data(), *fc = fc_.data();
  // Each row's real columns into its trace, at their position ids.
  auto capture = [&](const TensorId& id, const float* src, int width) {
    if (!captures) return;
    for (int b = 0; b < B; ++b) {
      Trace<double>* trace = captures[b];
      if (!trace || (id.is_op() && trace->level() != TraceLevel::ops)) continue;
      const BatchRow& row = batch.rows[b];
      capture_rows(tensor_of(*trace, id), src + (size_t(b) * T + row.first) * width, row.real.pos0,
                   row.count, width);
    }
  };
  using K = TensorKind;

  k.embed_batch(batch, tokens, x);  // x [B·T, C]
  capture({K::embed, -1}, x, C);
  for (int l = 0; l < config_.n_layer; ++l) {
    // x = x + attn(ln_1(x))
    k.layer_norm_batch(batch, l, NormSite::ln_1, x, h);
    capture({K::ln_1, l}, h, C);
    k.project_batch(batch, l, Projection::qkv, h, qkv, false);  // qkv [B·T, 3C]
    capture({K::qkv, l}, qkv, 3 * C);
    k.write_cache_batch(batch, l, qkv, caches);
    k.attention_batch(batch, l, qkv, caches, att);  // att [B·T, C]
    capture({K::attn, l}, att, C);
    k.project_batch(batch, l, Projection::attn_proj, att, x, true);
    capture({K::mid, l}, x, C);
    // x = x + mlp(ln_2(x))
    k.layer_norm_batch(batch, l, NormSite::ln_2, x, h);
    capture({K::ln_2, l}, h, C);
    k.project_gelu_batch(batch, l, h, fc);  // fc [B·T, 4C]
    capture({K::gelu, l}, fc, 4 * C);
    k.project_batch(batch, l, Projection::mlp_proj, fc, x, true);
    capture({K::block, l}, x, C);
  }
  if (which == Logits::none && !captures) return {};
  if (which == Logits::all || captures) {  // ln_f and logits of every column
    if (logits_.size() < N * V) logits_.resize(N * V);
    k.layer_norm_batch(batch, 0, NormSite::ln_f, x, h);
    k.logits_batch(batch, h, logits_.data());
    capture({K::ln_f, -1}, h, C);
    capture({K::logits, -1}, logits_.data(), V);
    if (which == Logits::all) return {logits_.data(), N * V};
    if (which == Logits::none) return {};
  }
  // ln_f and logits of each row's last real column only: a pass of one column.
  if (logits_.size() < size_t(B) * V) logits_.resize(size_t(B) * V);
  last_rows_.resize(B);
  const float* last = x;  // T = 1: the rows' columns are already [B, C]
  if (T > 1) {
    if (last_.size() < size_t(B) * C) last_.resize(size_t(B) * C);
    for (int b = 0; b < B; ++b) {
      const int t = batch.rows[b].first + batch.rows[b].count - 1;
      std::copy_n(x + (size_t(b) * T + t) * C, C, last_.data() + size_t(b) * C);
    }
    last = last_.data();
  }
  for (int b = 0; b < B; ++b) {
    const BatchRow& row = batch.rows[b];
    const int t = row.first + row.count - 1;
    BatchRow& one = last_rows_[b];
    one.slots = Pass{row.slots.pos0 + t, 1, batch.mask, batch.decode};
    one.first = 0;
    one.count = 1;
    one.key_begin = row.key_begin;
    one.real = Pass{row.real.pos0 + row.count - 1, 1, batch.mask, batch.decode};
  }
  BatchPass last_pass = batch;
  last_pass.n_tokens = 1;
  last_pass.rows = last_rows_;
  k.layer_norm_batch(last_pass, 0, NormSite::ln_f, last, h);
  k.logits_batch(last_pass, h, logits_.data());
  return {logits_.data(), size_t(B) * V};
}

// ---- batches -----------------------------------------------------------------

std::span<const float> Engine::prefill_batch(const std::vector<std::vector<int>>& prompts,
                                             const BatchOptions& options) {
  validate_batch(prompts, config_, "batch");
  if (options.which == Logits::all)
    throw InputError("prefill_batch: logits are for the last token of each row, or none");
  if (options.max_new < -1)
    throw InputError("prefill_batch: max_new must be -1 or more (got " +
                     std::to_string(options.max_new) + ")");
  const int P = config_.n_ctx;
  BatchLayout layout(row_lengths(prompts), options.padding);
  const int B = layout.rows(), W = layout.width();
  // Every row's slots, left padding or right: the longest row's tokens plus
  // the steps to come, at most the context (the longest row reaches the end
  // of the context, where decoding stops, as its slots run out).
  const int slots = options.max_new < 0 ? P : std::min(P, W + options.max_new);
  if (caches_.size() != size_t(B) || caches_.empty() || caches_[0].n_ctx() != slots) {
    caches_.clear();
    for (int b = 0; b < B; ++b) caches_.emplace_back(config_, slots);
  }
  layout_ = std::move(layout);
  batch_mask_ = options.mask;
  padding_mask_ = options.padding_mask;
  key_begin_.assign(B, 0);
  lengths_.assign(B, 0);
  rows_.resize(B);
  for (int b = 0; b < B; ++b) {
    BatchRow& row = rows_[b];
    row.slots = Pass{0, W, options.mask, false};
    row.first = layout_.first_column(b);
    row.count = layout_.length(b);
    row.key_begin = row.first;  // 0 for right padding
    row.real = Pass{0, row.count, options.mask, false};
    key_begin_[b] = row.key_begin;
  }
  const std::vector<int> tokens = layout_.padded(prompts);
  const BatchPass batch{B,
                        W,
                        options.mask,
                        false,
                        padding_mask_,
                        padding_position_id(P),
                        rows_,
                        config_.n_embd,
                        config_.vocab_size};
  capture_rows_.clear();
  if (batch_capture_) {
    GPT2_CHECK(batch_capture_->size() == size_t(B), "one capture trace per row");
    for (auto& t : *batch_capture_) capture_rows_.push_back(&t);
  }
  const std::span<const float> logits = run(batch, tokens.data(), caches_, options.which,
                                            batch_capture_ ? capture_rows_.data() : nullptr);
  for (int b = 0; b < B; ++b) lengths_[b] = layout_.length(b);
  return logits;
}

std::span<const float> Engine::decode_batch(std::span<const int> tokens) {
  const int B = layout_.rows(), V = config_.vocab_size, P = config_.n_ctx;
  if (B == 0) throw InputError("decode_batch before any prefill_batch");
  if (static_cast<int>(tokens.size()) != B)
    throw InputError("decode_batch: " + std::to_string(tokens.size()) + " tokens for a batch of " +
                     std::to_string(B) + " rows (one token per row)");
  for (int b = 0; b < B; ++b)
    if (tokens[b] < 0 || tokens[b] >= V)
      throw InputError("decode_batch: row " + std::to_string(b) + ": token " +
                       std::to_string(tokens[b]) + " is outside the vocabulary [0, " +
                       std::to_string(V) + ")");
  for (int b = 0; b < B; ++b)
    if (lengths_[b] >= P)
      throw InputError("decode_batch: row " + std::to_string(b) + ": position " +
                       std::to_string(lengths_[b]) + " is beyond the context of " +
                       std::to_string(P) + " positions");
  for (int b = 0; b < B; ++b)
    if (key_begin_[b] + lengths_[b] >= caches_[b].n_ctx())
      throw InputError("decode_batch: row " + std::to_string(b) + ": its cache of " +
                       std::to_string(caches_[b].n_ctx()) +
                       " slots is full (BatchOptions::max_new reserved fewer steps)");
  // Row b's token goes at its next position, in the slot after its last real
  // token (right padding: over its own padding).
  for (int b = 0; b < B; ++b) {
    BatchRow& row = rows_[b];
    row.slots = Pass{key_begin_[b] + lengths_[b], 1, Mask::causal, true};
    row.first = 0;
    row.count = 1;
    row.key_begin = key_begin_[b];
    row.real = Pass{lengths_[b], 1, Mask::causal, true};
  }
  const BatchPass batch{
      B, 1, Mask::causal, true, padding_mask_, padding_position_id(P), rows_, config_.n_embd, V};
  capture_rows_.clear();
  if (batch_capture_)
    for (auto& t : *batch_capture_) capture_rows_.push_back(&t);
  const std::span<const float> logits = run(batch, tokens.data(), caches_, Logits::last,
                                            batch_capture_ ? capture_rows_.data() : nullptr);
  for (int b = 0; b < B; ++b) ++lengths_[b];
  return logits;
}

Trace<double> run_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                        const std::string& kernel, Mode mode, int chunk, Mask mask, int threads,
                        TraceLevel level) {
  validate_tokens(tokens, weights.config, "tokens");
  if (mode == Mode::chunked && chunk < 1)
    throw InputError("--chunk must be at least 1 token (got " + std::to_string(chunk) + ")");
  const KernelSet& set = find_kernel(kernel);
  Engine engine(weights, set, threads);
  Trace<double> trace = make_trace<double>(weights.config, static_cast<int>(tokens.size()), level);
  engine.set_capture(&trace);
  const std::span<const int> all(tokens);
  switch (mode) {
    case Mode::full:
      engine.prefill(all, mask);
      break;
    case Mode::incremental:
      engine.prefill(all.first(1), mask);
      for (size_t i = 1; i < tokens.size(); ++i) engine.decode(tokens[i]);
      break;
    case Mode::chunked:
      for (size_t i = 0; i < tokens.size(); i += chunk)
        engine.prefill(all.subspan(i, std::min(tokens.size() - i, size_t(chunk))), mask);
      break;
  }
  return trace;
}

Trace<double> run_passes_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                               const std::vector<int>& chunks, const KernelSet& set, Mask mask,
                               int threads, TraceLevel level) {
  validate_tokens(tokens, weights.config, "tokens");
  size_t prefilled = 0;
  for (int chunk : chunks) {
    if (chunk < 1) throw InputError("a prefill chunk holds at least one token");
    prefilled += chunk;
  }
  if (prefilled > tokens.size())
    throw InputError("the prefill chunks hold more tokens than the sequence has");
  Engine engine(weights, set, threads);
  Trace<double> trace = make_trace<double>(weights.config, static_cast<int>(tokens.size()), level);
  engine.set_capture(&trace);
  const std::span<const int> all(tokens);
  size_t position = 0;
  for (int chunk : chunks) {
    engine.prefill(all.subspan(position, chunk), mask, Logits::none);
    position += chunk;
  }
  for (; position < tokens.size(); ++position) engine.decode(tokens[position]);
  return trace;
}

std::vector<Trace<double>> run_batch_trace(const Weights<float>& weights,
                                           const std::vector<std::vector<int>>& rows,
                                           const std::vector<int>& prompt_lengths,
                                           const KernelSet& set, const BatchOptions& options,
                                           int threads, TraceLevel level) {
  validate_batch(rows, weights.config, "batch");
  if (prompt_lengths.size() != rows.size())
    throw InputError("one prompt length per row of the batch");
  std::vector<std::vector<int>> prompts;
  int steps = -1;
  for (size_t r = 0; r < rows.size(); ++r) {
    const int n = prompt_lengths[r], total = static_cast<int>(rows[r].size());
    if (n < 1 || n > total)
      throw InputError("batch, row " + std::to_string(r) + ": a prompt of " + std::to_string(n) +
                       " tokens in a row of " + std::to_string(total));
    if (steps >= 0 && total - n != steps)
      throw InputError("batch, row " + std::to_string(r) +
                       ": every row decodes the same number of tokens after its prompt");
    steps = total - n;
    prompts.emplace_back(rows[r].begin(), rows[r].begin() + n);
  }
  Engine engine(weights, set, threads);
  std::vector<Trace<double>> traces;
  traces.reserve(rows.size());
  for (const auto& row : rows)
    traces.push_back(make_trace<double>(weights.config, static_cast<int>(row.size()), level));
  engine.set_batch_capture(&traces);
  BatchOptions o = options;
  o.max_new = steps;
  o.which = Logits::none;
  engine.prefill_batch(prompts, o);
  std::vector<int> next(rows.size());
  for (int s = 0; s < steps; ++s) {
    for (size_t r = 0; r < rows.size(); ++r) next[r] = rows[r][prompt_lengths[r] + s];
    engine.decode_batch(next);
  }
  return traces;
}

}  // namespace gpt2::optimized
