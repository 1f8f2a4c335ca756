// Any kernel set's operations with a precision profile's roundings around
// them (model/profile.h): the KV cache, the matmul inputs, the residual
// stream and the GELU table of an engine that keeps them in a short format,
// applied to a set that computes in float32. The oracle's ensemble runs its
// reordered-sum members this way under a profile (oracle/ensemble.h), and
// the calibration its independent orders, so that every member rounds at the
// same declared points as the engine it judges. The registered sets of the
// profiles (f16kv, ...) are ProfileKernels (profile_kernels.h): the same
// points inside `fast`'s PanelKernels, with its batch operations; this is
// the wrapper for a set whose insides it does not know.
//
// Each point as model/profile.h and docs/architecture.md define it:
//   weights, norms_and_biases  not here: the set is built on round_weights()
//   residual         embed's output and each residual projection's result
//                    (project with accumulate), rounded after the base op
//   matmul_inputs    a rounded copy of x goes into project, project_gelu and
//                    logits
//   kv_cache         a copy of qkv with its key and value columns rounded goes
//                    into write_cache (attention reads queries from qkv)
//   gelu table_f16   gelu_f16_table_array (gelu_table.h), after the base's
//                    fc projection
//   attention_probs  inside a set's attention: not applicable from outside
//                    (the constructor refuses such a profile)
// The batch operations are Kernels' defaults, which call these row by row.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "model/profile.h"
#include "optimized/kernels.h"

namespace gpt2::optimized {

class ProfileRoundings : public Kernels {
 public:
  // Throws InputError when `profile` rounds the attention probabilities.
  ProfileRoundings(std::unique_ptr<Kernels> base, const Profile& profile, const Config& config);

  void embed(const Pass& pass, const int* tokens, float* x) override;
  void layer_norm(const Pass& pass, int layer, NormSite site, const float* x, int rows,
                  float* y) override;
  void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
               bool accumulate) override;
  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override;
  void gelu(float* x, size_t n) override;
  void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) override;
  void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                 float* out) override;
  void logits(const Pass& pass, const float* x, int rows, float* out) override;
  size_t weight_bytes_per_token() const override;

 private:
  // x [n] rounded to `format` into scratch_ (returned), or x itself for f32.
  const float* rounded(FloatFormat format, const float* x, size_t n);

  std::unique_ptr<Kernels> base_;
  Profile profile_;
  Config config_;
  std::vector<float> scratch_;
};

// `set`'s kernels under `profile`: a KernelSet named `name`, declaring
// `profile`, that builds `set`'s kernels on round_weights(weights, profile)
// and wraps their operations in ProfileRoundings.
KernelSet with_profile(const KernelSet& set, const Profile& profile, const std::string& name);

}  // namespace gpt2::optimized
