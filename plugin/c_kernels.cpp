#include "plugin/c_kernels.h"

#include <cstring>
#include <set>

#include "plugin/protocol.h"

namespace gpt2::plugin {

static_assert(sizeof(int) == sizeof(int32_t), "token ids cross the ABI as int32_t");

using optimized::KvCache;
using optimized::NormSite;
using optimized::Pass;
using optimized::Projection;

std::string check_plugin_table(const gpt2_oracle_plugin* table) {
  if (!table) return std::string(GPT2_ORACLE_PLUGIN_ENTRY) + " returned NULL";
  if (table->abi_version != GPT2_ORACLE_PLUGIN_ABI_VERSION)
    return "the table declares ABI version " + std::to_string(table->abi_version) +
           "; this gpt2-oracle reads version " + std::to_string(GPT2_ORACLE_PLUGIN_ABI_VERSION);
  if (table->n_sets < 1 || table->n_sets > kMaxSets)
    return "the table lists " + std::to_string(table->n_sets) + " kernel sets (1 to " +
           std::to_string(kMaxSets) + ")";
  if (!table->sets) return "the table's sets are NULL";
  std::set<std::string> names;
  for (uint32_t i = 0; i < table->n_sets; ++i) {
    const gpt2_oracle_kernel_set& s = table->sets[i];
    const std::string where = "set " + std::to_string(i);
    if (!s.name) return where + ": name is NULL";
    // Bounded read of a C string the plugin owns.
    const std::string name(s.name, strnlen(s.name, kMaxSetName + 1));
    if (const std::string e = check_set_name(name); !e.empty()) return where + ": " + e;
    const std::string named = where + " '" + name + "'";
    if (!names.insert(name).second) return named + ": the name is used twice";
    if (s.description) {
      const std::string d(s.description, strnlen(s.description, kMaxDescription + 1));
      if (const std::string e = check_description(d); !e.empty()) return named + ": " + e;
    }
    const std::pair<const char*, bool> required[] = {
        {"create", s.create != nullptr},   {"destroy", s.destroy != nullptr},
        {"embed", s.embed != nullptr},     {"layer_norm", s.layer_norm != nullptr},
        {"project", s.project != nullptr}, {"attention", s.attention != nullptr},
        {"logits", s.logits != nullptr}};
    for (const auto& [field, present] : required)
      if (!present) return named + ": " + field + " is NULL (required)";
  }
  return "";
}

namespace {
gpt2_oracle_pass c_pass(const Pass& p) {
  return {p.pos0, p.n_tokens,
          p.mask == Mask::none ? GPT2_ORACLE_MASK_NONE : GPT2_ORACLE_MASK_CAUSAL, p.decode ? 1 : 0};
}
}  // namespace

CKernels::CKernels(const gpt2_oracle_kernel_set& set, const Weights<float>& weights)
    : set_(set), w_(weights) {
  const Config& c = w_.config;
  c_weights_.config = {c.n_layer, c.n_head, c.n_embd, c.n_ctx, c.vocab_size, c.layer_norm_epsilon};
  c_weights_.wte = w_.wte.data();
  c_weights_.wpe = w_.wpe.data();
  for (const auto& b : w_.blocks)
    blocks_.push_back({b.ln_1_weight.data(), b.ln_1_bias.data(), b.attn_c_attn_weight.data(),
                       b.attn_c_attn_bias.data(), b.attn_c_proj_weight.data(),
                       b.attn_c_proj_bias.data(), b.ln_2_weight.data(), b.ln_2_bias.data(),
                       b.mlp_c_fc_weight.data(), b.mlp_c_fc_bias.data(), b.mlp_c_proj_weight.data(),
                       b.mlp_c_proj_bias.data()});
  c_weights_.blocks = blocks_.data();
  c_weights_.ln_f_weight = w_.ln_f_weight.data();
  c_weights_.ln_f_bias = w_.ln_f_bias.data();
  instance_ = set_.create(&c_weights_);
  if (!instance_) throw KernelsCreateFailed("create returned NULL");
}

CKernels::~CKernels() { set_.destroy(instance_); }

void CKernels::embed(const Pass& pass, const int* tokens, float* x) {
  const gpt2_oracle_pass p = c_pass(pass);
  set_.embed(instance_, &p, reinterpret_cast<const int32_t*>(tokens), x);
}

void CKernels::layer_norm(const Pass& pass, int layer, NormSite site, const float* x, int rows,
                          float* y) {
  const gpt2_oracle_pass p = c_pass(pass);
  const int32_t s = site == NormSite::ln_1   ? GPT2_ORACLE_LN_1
                    : site == NormSite::ln_2 ? GPT2_ORACLE_LN_2
                                             : GPT2_ORACLE_LN_F;
  set_.layer_norm(instance_, &p, layer, s, x, rows, y);
}

void CKernels::project(const Pass& pass, int layer, Projection which, const float* x, float* y,
                       bool accumulate) {
  const gpt2_oracle_pass p = c_pass(pass);
  const int32_t w = which == Projection::qkv         ? GPT2_ORACLE_QKV
                    : which == Projection::attn_proj ? GPT2_ORACLE_ATTN_PROJ
                    : which == Projection::fc        ? GPT2_ORACLE_FC
                                                     : GPT2_ORACLE_MLP_PROJ;
  set_.project(instance_, &p, layer, w, x, y, accumulate ? 1 : 0);
}

void CKernels::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  if (set_.project_gelu) {
    const gpt2_oracle_pass p = c_pass(pass);
    set_.project_gelu(instance_, &p, layer, x, y);
    return;
  }
  project(pass, layer, Projection::fc, x, y, false);
  gelu(y, size_t(pass.n_tokens) * 4 * w_.config.n_embd);
}

void CKernels::gelu(float* x, size_t n) {
  if (set_.gelu)
    set_.gelu(instance_, x, n);
  else
    Kernels::gelu(x, n);
}

gpt2_oracle_kv_cache CKernels::c_cache(const KvCache& cache) const {
  return {const_cast<float*>(cache.key(0, 0, 0)),
          const_cast<float*>(cache.value(0, 0, 0)),
          w_.config.n_layer,
          cache.n_head(),
          cache.stride(),  // the layout's P: a batch row's cache is a view from its first slot
          cache.head_size()};
}

void CKernels::write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) {
  if (!set_.write_cache) return Kernels::write_cache(pass, layer, qkv, cache);
  const gpt2_oracle_pass p = c_pass(pass);
  gpt2_oracle_kv_cache c = c_cache(cache);
  set_.write_cache(instance_, &p, layer, qkv, &c);
}

void CKernels::attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                         float* out) {
  const gpt2_oracle_pass p = c_pass(pass);
  const gpt2_oracle_kv_cache c = c_cache(cache);
  set_.attention(instance_, &p, layer, qkv, &c, out);
}

void CKernels::logits(const Pass& pass, const float* x, int rows, float* out) {
  const gpt2_oracle_pass p = c_pass(pass);
  set_.logits(instance_, &p, x, rows, out);
}

size_t CKernels::weight_bytes_per_token() const {
  // As float32 (the ABI's format; what a plugin stores internally is its own).
  size_t n = w_.wte.size();
  for (const auto& b : w_.blocks)
    n += b.attn_c_attn_weight.size() + b.attn_c_proj_weight.size() + b.mlp_c_fc_weight.size() +
         b.mlp_c_proj_weight.size();
  return n * sizeof(float);
}

optimized::KernelSet c_kernel_set(const gpt2_oracle_kernel_set& set) {
  return optimized::KernelSet{
      set.name,
      set.description ? set.description : "",
      [&set](const Weights<float>& w, optimized::ThreadPool&)
          -> std::unique_ptr<optimized::Kernels> { return std::make_unique<CKernels>(set, w); },
      {}};
}

}  // namespace gpt2::plugin
