#include "optimized/kernels.h"

#include <cmath>
#include <cstring>
#include <mutex>

#include "model/error.h"

namespace gpt2::optimized {

int projection_in(const Config& config, Projection p) {
  return p == Projection::mlp_proj ? 4 * config.n_embd : config.n_embd;
}

int projection_out(const Config& config, Projection p) {
  switch (p) {
    case Projection::qkv:
      return 3 * config.n_embd;
    case Projection::attn_proj:
      return config.n_embd;
    case Projection::fc:
      return 4 * config.n_embd;
    case Projection::mlp_proj:
      return config.n_embd;
  }
  GPT2_CHECK(false, "unknown projection");
}

void Kernels::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  project(pass, layer, Projection::fc, x, y, /*accumulate=*/false);
}

void Kernels::gelu(float* x, size_t n) {
  // GPT-2's gelu_new; sqrt(2/π) rounded to float once.
  const float k = static_cast<float>(std::sqrt(2.0 / M_PI));
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
  }
}

void Kernels::write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) {
  // qkv rows are [q (C) | k (C) | v (C)], each C split into NH heads of HS.
  const int NH = cache.n_head(), HS = cache.head_size(), C = NH * HS;
  for (int t = 0; t < pass.n_tokens; ++t) {
    const float* row = qkv + size_t(t) * 3 * C;
    for (int h = 0; h < NH; ++h) {
      std::memcpy(cache.key(layer, h, pass.pos0 + t), row + C + h * HS, HS * sizeof(float));
      std::memcpy(cache.value(layer, h, pass.pos0 + t), row + 2 * C + h * HS, HS * sizeof(float));
    }
  }
}

// ---- registry --------------------------------------------------------------

namespace {
// Each built-in set is listed here explicitly (a static initialiser in each
// file could be dropped by the linker).
void RegisterAllKernels() {
  register_eigen_kernels();
  register_fast_kernels();
  register_bf16_kernels();
}

struct Registry {
  std::mutex mutex;
  std::vector<KernelSet> sets;
  bool built_in_done = false;
};

Registry& registry() {
  static Registry r;
  return r;
}

void ensure_built_in() {
  static std::once_flag once;
  std::call_once(once, [] { RegisterAllKernels(); });
}
}  // namespace

void register_kernel_set(KernelSet set) {
  GPT2_CHECK(!set.name.empty() && set.create, "a kernel set needs a name and a factory");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& s : r.sets)
    GPT2_CHECK(s.name != set.name, "kernel set '" + set.name + "' registered twice");
  r.sets.push_back(std::move(set));
}

const std::vector<KernelSet>& kernels() {
  ensure_built_in();
  return registry().sets;
}

const KernelSet& find_kernel(const std::string& name) {
  const auto& sets = kernels();
  std::string known;
  for (const auto& s : sets) {
    if (s.name == name) return s;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  throw InputError("unknown kernel set '" + name + "' (known: " + known + ")");
}

}  // namespace gpt2::optimized
