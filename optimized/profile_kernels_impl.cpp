// ProfileKernels (profile_kernels.h): PanelKernels with a profile's roundings.
// Not itself a kernel set file (those are NAME_kernels.cpp; see
// optimized/CMakeLists.txt): f16kv_kernels.cpp, bf16_autocast_kernels.cpp,
// f16_gelu_table_kernels.cpp and ggml_f16_kernels.cpp register the sets.
#include "optimized/profile_kernels.h"

#include <utility>

#include "model/error.h"
#include "model/float_formats.h"
#include "optimized/gelu_table.h"

namespace gpt2::optimized {

ProfileKernels::ProfileKernels(const Weights<float>& weights, ThreadPool& pool,
                               const Profile& roundings)
    : PanelKernels(weights, pool, WeightFormat::f32), roundings_(roundings) {
  GPT2_CHECK(
      roundings.attention_probs == FloatFormat::f32,
      "ProfileKernels does not round attention probabilities (profile '" + roundings.name + "')");
  // A single sequence's largest matmul input (T = n_ctx rows of 4C): decode
  // and prefill then allocate nothing; a larger batch grows it once.
  if (roundings.matmul_inputs != FloatFormat::f32)
    input_.resize(size_t(config_.n_ctx) * 4 * config_.n_embd);
}

const float* ProfileKernels::matmul_input(const float* x, size_t n) {
  if (roundings_.matmul_inputs == FloatFormat::f32) return x;
  if (input_.size() < n) input_.resize(n);
  for (size_t i = 0; i < n; ++i) input_[i] = stored_as(roundings_.matmul_inputs, x[i]);
  return input_.data();
}

void ProfileKernels::round_residual(float* x, size_t n) const {
  round_in_place(roundings_.residual, x, n);
}

void ProfileKernels::table_gelu(float* x, size_t n) { gelu_f16_table_array(x, n); }

void ProfileKernels::embed(const Pass& pass, const int* tokens, float* x) {
  PanelKernels::embed(pass, tokens, x);
  round_residual(x, size_t(pass.n_tokens) * config_.n_embd);
}

void ProfileKernels::project_rows(int layer, Projection p, const float* x, int rows, float* y,
                                  bool accumulate) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(p);
  const float* in = matmul_input(x, size_t(rows) * projection_in(config_, p));
  run_gemm(in, rows, L.matrix[i], L.bias[i].data(), y,
           accumulate ? Epilogue::accumulate : Epilogue::store);
  // With accumulate, y is the residual stream: x + attn_proj or mid + mlp_proj.
  if (accumulate) round_residual(y, size_t(rows) * projection_out(config_, p));
}

void ProfileKernels::project_gelu_rows(int layer, const float* x, int rows, float* y) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(Projection::fc);
  const float* in = matmul_input(x, size_t(rows) * config_.n_embd);
  if (roundings_.gelu == GeluForm::formula)
    return run_gemm(in, rows, L.matrix[i], L.bias[i].data(), y, Epilogue::gelu_tanh);
  run_gemm(in, rows, L.matrix[i], L.bias[i].data(), y, Epilogue::store);  // u [rows, 4C]
  table_gelu(y, size_t(rows) * 4 * config_.n_embd);
}

void ProfileKernels::logits_rows(const float* x, int rows, float* out) {
  run_gemm(matmul_input(x, size_t(rows) * config_.n_embd), rows, lm_head_, nullptr, out,
           Epilogue::store);
}

void ProfileKernels::project(const Pass& pass, int layer, Projection p, const float* x, float* y,
                             bool accumulate) {
  project_rows(layer, p, x, pass.n_tokens, y, accumulate);
}

void ProfileKernels::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  project_gelu_rows(layer, x, pass.n_tokens, y);
}

void ProfileKernels::gelu(float* x, size_t n) {
  if (roundings_.gelu == GeluForm::table_f16) return table_gelu(x, n);
  PanelKernels::gelu(x, n);
}

void ProfileKernels::write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) {
  PanelKernels::write_cache(pass, layer, qkv, cache);
  if (roundings_.kv_cache == FloatFormat::f32) return;
  const int NH = cache.n_head(), HS = cache.head_size();
  for (int t = 0; t < pass.n_tokens; ++t)
    for (int h = 0; h < NH; ++h) {
      round_in_place(roundings_.kv_cache, cache.key(layer, h, pass.pos0 + t), HS);
      round_in_place(roundings_.kv_cache, cache.value(layer, h, pass.pos0 + t), HS);
    }
}

void ProfileKernels::logits(const Pass&, const float* x, int rows, float* out) {
  logits_rows(x, rows, out);
}

void ProfileKernels::project_batch(const BatchPass& batch, int layer, Projection p, const float* x,
                                   float* y, bool accumulate) {
  project_rows(layer, p, x, batch.n_rows * batch.n_tokens, y, accumulate);
}

void ProfileKernels::project_gelu_batch(const BatchPass& batch, int layer, const float* x,
                                        float* y) {
  project_gelu_rows(layer, x, batch.n_rows * batch.n_tokens, y);
}

void ProfileKernels::logits_batch(const BatchPass& batch, const float* x, float* out) {
  logits_rows(x, batch.n_rows * batch.n_tokens, out);
}

KernelSet profile_kernel_set(std::string name, std::string description,
                             const std::string& profile_name) {
  const Profile profile = find_profile(profile_name);
  const bool rounds_weights =
      profile.weights != FloatFormat::f32 || profile.norms_and_biases != FloatFormat::f32;
  KernelSet set;
  set.name = std::move(name);
  set.description = std::move(description);
  set.create = [profile, rounds_weights](const Weights<float>& w,
                                         ThreadPool& pool) -> std::unique_ptr<Kernels> {
    if (!rounds_weights) return std::make_unique<ProfileKernels>(w, pool, profile);
    return std::make_unique<ProfileKernels>(round_weights(w, profile), pool, profile);
  };
  if (rounds_weights)
    set.effective_weights = [profile](const Weights<float>& w) {
      return round_weights(w, profile);
    };
  set.batch_invariant = true;
  set.profile = profile_name;
  return set;
}

}  // namespace gpt2::optimized
