#include "optimized/engine.h"

#include <algorithm>
#include <string>

#include "model/error.h"
#include "model/tokens.h"

namespace gpt2::optimized {

Engine::Engine(const Weights<float>& weights, const KernelSet& kernels, int threads)
    : config_(weights.config),
      kernel_name_(kernels.name),
      pool_(std::max(1, threads)),
      kernels_(kernels.create(weights, pool_)),
      cache_(weights.config) {
  if (threads < 1)
    throw InputError("threads must be at least 1 (got " + std::to_string(threads) + ")");
  const size_t P = config_.n_ctx, C = config_.n_embd;
  x_.assign(P * C, 0.0f);
  h_.assign(P * C, 0.0f);
  qkv_.assign(P * 3 * C, 0.0f);
  att_.assign(P * C, 0.0f);
  fc_.assign(P * 4 * C, 0.0f);
  logits_.assign(config_.vocab_size, 0.0f);
}

Engine::~Engine() = default;

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
  const int C = config_.n_embd, V = config_.vocab_size, P = config_.n_ctx;
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
  const int logit_rows = which == Logits::all ? T : which == Logits::last ? 1 : 0;
  if (logits_.size() < size_t(logit_rows) * V) logits_.resize(size_t(logit_rows) * V);

  const Pass pass{position_, T, mask, decode};
  Kernels& k = *kernels_;
  float *x = x_.data(), *h = h_.data(), *qkv = qkv_.data(), *att = att_.data(), *fc = fc_.data();

  k.embed(pass, tokens, x);  // x [T, C]
  if (capture_) capture_rows(capture_->embed, x, pass.pos0, T, C);
  // The op tensors of block l (model/trace.h), when the capture asks for them.
  BlockOps<double>* ops = nullptr;
  for (int l = 0; l < config_.n_layer; ++l) {
    if (capture_ && capture_->level() == TraceLevel::ops) ops = &capture_->ops[l];
    // x = x + attn(ln_1(x))
    k.layer_norm(pass, l, NormSite::ln_1, x, T, h);
    if (ops) capture_rows(ops->ln_1, h, pass.pos0, T, C);
    k.project(pass, l, Projection::qkv, h, qkv, false);  // qkv [T, 3C]
    if (ops) capture_rows(ops->qkv, qkv, pass.pos0, T, 3 * C);
    k.write_cache(pass, l, qkv, cache_);
    k.attention(pass, l, qkv, cache_, att);  // att [T, C]
    if (ops) capture_rows(ops->attn, att, pass.pos0, T, C);
    k.project(pass, l, Projection::attn_proj, att, x, true);
    if (ops) capture_rows(ops->mid, x, pass.pos0, T, C);
    // x = x + mlp(ln_2(x))
    k.layer_norm(pass, l, NormSite::ln_2, x, T, h);
    if (ops) capture_rows(ops->ln_2, h, pass.pos0, T, C);
    k.project_gelu(pass, l, h, fc);  // fc [T, 4C]
    if (ops) capture_rows(ops->gelu, fc, pass.pos0, T, 4 * C);
    k.project(pass, l, Projection::mlp_proj, fc, x, true);
    if (capture_) capture_rows(capture_->block[l], x, pass.pos0, T, C);
  }
  position_ += T;
  if (logit_rows == 0) return {};
  // ln_f and logits only for the rows asked for.
  const float* rows_in = x + size_t(T - logit_rows) * C;
  k.layer_norm(pass, 0, NormSite::ln_f, rows_in, logit_rows, h);
  k.logits(pass, h, logit_rows, logits_.data());
  if (capture_) {
    capture_rows(capture_->ln_f, h, pass.pos0, T, C);
    capture_rows(capture_->logits, logits_.data(), pass.pos0, T, V);
  }
  return {logits_.data(), size_t(logit_rows) * V};
}

Trace<double> run_trace(const Weights<float>& weights, const std::vector<int>& tokens,
                        const std::string& kernel, Mode mode, int chunk, Mask mask, int threads,
                        TraceLevel level) {
  validate_tokens(tokens, weights.config, "tokens");
  if (mode == Mode::chunked && chunk < 1)
    throw InputError("--chunk must be at least 1 token (got " + std::to_string(chunk) + ")");
  const KernelSet& set = find_kernel(kernel);
  Engine engine(weights, set, threads);
  Trace<double> trace =
      make_trace<double>(weights.config, static_cast<int>(tokens.size()), level);
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

}  // namespace gpt2::optimized
