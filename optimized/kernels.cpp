#include "optimized/kernels.h"

#include <cmath>
#include <cstring>
#include <mutex>

#include "model/error.h"
#include "model/profile.h"

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

// ---- batches: the defaults, one single-sequence call per row ----------------

namespace {
// Row b's first column in a [B·T, width] buffer.
template <class F>
F* row_of(F* buffer, const BatchPass& batch, int b, int width) {
  return buffer + size_t(b) * batch.n_tokens * width;
}
}  // namespace

void Kernels::embed_batch(const BatchPass& batch, const int* tokens, float* x) {
  const int T = batch.n_tokens, C = batch.n_embd;
  for (int b = 0; b < batch.n_rows; ++b) {
    const BatchRow& row = batch.rows[b];
    const int* row_tokens = tokens + size_t(b) * T;
    float* row_x = row_of(x, batch, b, C);
    for (int t = 0; t < T; ++t) {
      if (t >= row.first && t < row.first + row.count) continue;
      const Pass padding{batch.padding_position, 1, batch.mask, batch.decode};
      embed(padding, row_tokens + t, row_x + size_t(t) * C);
    }
    if (row.count > 0) embed(row.real, row_tokens + row.first, row_x + size_t(row.first) * C);
  }
}

void Kernels::layer_norm_batch(const BatchPass& batch, int layer, NormSite site, const float* x,
                               float* y) {
  const int C = batch.n_embd;
  for (int b = 0; b < batch.n_rows; ++b)
    layer_norm(batch.rows[b].slots, layer, site, row_of(x, batch, b, C), batch.n_tokens,
               row_of(y, batch, b, C));
}

void Kernels::project_batch(const BatchPass& batch, int layer, Projection p, const float* x,
                            float* y, bool accumulate) {
  const int in = p == Projection::mlp_proj ? 4 * batch.n_embd : batch.n_embd;
  const int out = p == Projection::qkv  ? 3 * batch.n_embd
                  : p == Projection::fc ? 4 * batch.n_embd
                                        : batch.n_embd;
  for (int b = 0; b < batch.n_rows; ++b)
    project(batch.rows[b].slots, layer, p, row_of(x, batch, b, in), row_of(y, batch, b, out),
            accumulate);
}

void Kernels::project_gelu_batch(const BatchPass& batch, int layer, const float* x, float* y) {
  const int C = batch.n_embd;
  for (int b = 0; b < batch.n_rows; ++b)
    project_gelu(batch.rows[b].slots, layer, row_of(x, batch, b, C), row_of(y, batch, b, 4 * C));
}

void Kernels::write_cache_batch(const BatchPass& batch, int layer, const float* qkv,
                                std::span<KvCache> caches) {
  for (int b = 0; b < batch.n_rows; ++b)
    write_cache(batch.rows[b].slots, layer, row_of(qkv, batch, b, 3 * batch.n_embd), caches[b]);
}

void Kernels::attention_batch(const BatchPass& batch, int layer, const float* qkv,
                              std::span<const KvCache> caches, float* out) {
  const int C = batch.n_embd, T = batch.n_tokens;
  for (int b = 0; b < batch.n_rows; ++b) {
    const BatchRow& row = batch.rows[b];
    const float* row_qkv = row_of(qkv, batch, b, 3 * C);
    float* row_out = row_of(out, batch, b, C);
    if (!batch.padding_mask) {
      attention(row.slots, layer, row_qkv, caches[b], row_out);
      continue;
    }
    for (int t = 0; t < T; ++t)  // a padding query sees no key
      if (t < row.first || t >= row.first + row.count)
        std::memset(row_out + size_t(t) * C, 0, C * sizeof(float));
    if (row.count > 0)
      attention(row.real, layer, row_qkv + size_t(row.first) * 3 * C,
                caches[b].view_from(row.key_begin), row_out + size_t(row.first) * C);
  }
}

void Kernels::logits_batch(const BatchPass& batch, const float* x, float* out) {
  for (int b = 0; b < batch.n_rows; ++b)
    logits(batch.rows[b].slots, row_of(x, batch, b, batch.n_embd), batch.n_tokens,
           row_of(out, batch, b, batch.vocab_size));
}

// ---- registry --------------------------------------------------------------

// Calls register_NAME_kernels() of every optimized/NAME_kernels.cpp, in file
// name order: generated by optimized/CMakeLists.txt from the files found (an
// explicit list, made by the build, rather than static initialisers that the
// linker could drop).
void RegisterAllKernels();

namespace {
struct Registry {
  std::mutex mutex;
  std::vector<KernelSet> sets;
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

namespace {
// The built-in profile named `name`, or null.
const Profile* builtin_profile(const std::string& name) {
  for (const Profile& p : builtin_profiles())
    if (p.name == name) return &p;
  return nullptr;
}
}  // namespace

bool KernelSet::float32_arithmetic() const {
  const Profile* declared = builtin_profile(profile);
  GPT2_CHECK(declared, "kernel set '" + name + "': unknown profile '" + profile + "'");
  return !declared->rounds_arithmetic();  // weights_used() gives the weights' roundings
}

void register_kernel_set(KernelSet set) {
  GPT2_CHECK(!set.name.empty() && set.create, "a kernel set needs a name and a factory");
  const Profile* profile = builtin_profile(set.profile);
  GPT2_CHECK(profile, "kernel set '" + set.name + "' declares the profile '" + set.profile +
                          "', which is not a built-in one (model/profile.h)");
  GPT2_CHECK(set.effective_weights || (profile->weights == FloatFormat::f32 &&
                                       profile->norms_and_biases == FloatFormat::f32),
             "kernel set '" + set.name + "' declares the profile '" + set.profile +
                 "', which rounds the weights, but gives no effective_weights");
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

std::vector<const KernelSet*> float32_kernel_sets() {
  std::vector<const KernelSet*> sets;
  for (const KernelSet& set : kernels())
    if (set.float32_arithmetic()) sets.push_back(&set);
  return sets;
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
