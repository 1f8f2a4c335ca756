#include "optimized/profile_roundings.h"

#include "model/error.h"
#include "model/float_formats.h"
#include "optimized/gelu_table.h"

namespace gpt2::optimized {

ProfileRoundings::ProfileRoundings(std::unique_ptr<Kernels> base, const Profile& profile,
                                   const Config& config)
    : base_(std::move(base)), profile_(profile), config_(config) {
  if (profile.attention_probs != FloatFormat::f32)
    throw InputError("profile '" + profile.name +
                     "' rounds the attention probabilities, which happens inside a kernel set's "
                     "attention: only a set that implements it can run under this profile");
}

const float* ProfileRoundings::rounded(FloatFormat format, const float* x, size_t n) {
  if (format == FloatFormat::f32) return x;
  scratch_.assign(x, x + n);
  round_in_place(format, scratch_.data(), n);
  return scratch_.data();
}

void ProfileRoundings::embed(const Pass& pass, const int* tokens, float* x) {
  base_->embed(pass, tokens, x);
  round_in_place(profile_.residual, x, size_t(pass.n_tokens) * config_.n_embd);
}

void ProfileRoundings::layer_norm(const Pass& pass, int layer, NormSite site, const float* x,
                                  int rows, float* y) {
  base_->layer_norm(pass, layer, site, x, rows, y);
}

void ProfileRoundings::project(const Pass& pass, int layer, Projection p, const float* x, float* y,
                               bool accumulate) {
  const size_t in = size_t(pass.n_tokens) * projection_in(config_, p);
  base_->project(pass, layer, p, rounded(profile_.matmul_inputs, x, in), y, accumulate);
  // With accumulate, y is the residual stream (mid or the block's output).
  if (accumulate)
    round_in_place(profile_.residual, y, size_t(pass.n_tokens) * projection_out(config_, p));
}

void ProfileRoundings::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  const float* input = rounded(profile_.matmul_inputs, x, size_t(pass.n_tokens) * config_.n_embd);
  if (profile_.gelu == GeluForm::formula) {
    base_->project_gelu(pass, layer, input, y);
    return;
  }
  base_->project(pass, layer, Projection::fc, input, y, false);
  gelu(y, size_t(pass.n_tokens) * 4 * config_.n_embd);
}

void ProfileRoundings::gelu(float* x, size_t n) {
  if (profile_.gelu == GeluForm::formula) {
    base_->gelu(x, n);
    return;
  }
  gelu_f16_table_array(x, n);
}

void ProfileRoundings::write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) {
  if (profile_.kv_cache == FloatFormat::f32) {
    base_->write_cache(pass, layer, qkv, cache);
    return;
  }
  const int C = config_.n_embd;
  scratch_.assign(qkv, qkv + size_t(pass.n_tokens) * 3 * C);
  for (int t = 0; t < pass.n_tokens; ++t)  // columns C .. 3C: the keys and the values
    round_in_place(profile_.kv_cache, &scratch_[size_t(t) * 3 * C + C], size_t(2) * C);
  base_->write_cache(pass, layer, scratch_.data(), cache);
}

void ProfileRoundings::attention(const Pass& pass, int layer, const float* qkv,
                                 const KvCache& cache, float* out) {
  base_->attention(pass, layer, qkv, cache, out);
}

void ProfileRoundings::logits(const Pass& pass, const float* x, int rows, float* out) {
  base_->logits(pass, rounded(profile_.matmul_inputs, x, size_t(rows) * config_.n_embd), rows, out);
}

size_t ProfileRoundings::weight_bytes_per_token() const { return base_->weight_bytes_per_token(); }

KernelSet with_profile(const KernelSet& set, const Profile& profile, const std::string& name) {
  KernelSet out = set;
  out.name = name;
  out.description = set.description + "; under profile " + profile.name;
  out.profile = profile.name;
  auto create = set.create;
  out.create = [create, profile](const Weights<float>& weights, ThreadPool& pool) {
    // The base keeps its own copy of what it needs (KernelSet::create).
    return std::make_unique<ProfileRoundings>(create(round_weights(weights, profile), pool),
                                              profile, weights.config);
  };
  auto used = set.effective_weights;
  out.effective_weights = [used, profile](const Weights<float>& weights) {
    return round_weights(used ? used(weights) : weights, profile);
  };
  return out;
}

}  // namespace gpt2::optimized
