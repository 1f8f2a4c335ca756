#include "oracle/broken_kernels.h"

#include <cmath>
#include <algorithm>
#include <cstring>
#include <mutex>

#include "model/safetensors.h"
#include "optimized/eigen_kernels.h"
#include "optimized/kernels.h"

namespace gpt2::oracle {

namespace {

using optimized::EigenKernels;
using optimized::KernelSet;
using optimized::KvCache;
using optimized::NormSite;
using optimized::Pass;

// What one broken attention gets wrong.
struct AttentionBugs {
  bool unscaled = false;           // scores q·k, not q·k / sqrt(HS)
  bool no_max_subtraction = false; // exp(s) / Σ exp(s) without subtracting the max
  bool diagonal_hidden = false;    // causal mask off by one: keys 0 .. pos-1
  bool mask_ignored_in_prefill = false;  // every query of a prefill sees the whole chunk
  bool top_left_chunk_mask = false;      // query t of a chunk sees keys 0 .. t, not 0 .. pos0+t
  bool approximate_exp = false;          // a fast exp: 2^(x·log2 e) with a cubic for 2^f
};

// exp(x) = 2^n · 2^f, n = floor(x·log2 e), 2^f by a least-squares cubic on
// [0, 1): relative error up to 1.25e-4 (the kind of fast exp that vectorised
// softmax kernels use).
float approximate_exp(float x) {
  const float y = x * 1.44269504f;
  const float n = std::floor(y), f = y - n;
  const float two_f = 1.0f + f * (0.69543002f + f * (0.22694011f + f * 0.07738064f));
  return std::ldexp(two_f, static_cast<int>(n));
}

// x rounded to the nearest IEEE half (ties to even), subnormals included;
// the values of a KV cache are far below half's overflow at 65504.
float round_to_half(float x) {
  if (x == 0.0f || !std::isfinite(x)) return x;
  int exponent = 0;
  std::frexp(x, &exponent);                                       // |x| in [2^(e-1), 2^e)
  const int ulp_exponent = std::max(exponent - 1, -14) - 10;      // half: 10 fraction bits
  const float ulp = std::ldexp(1.0f, ulp_exponent);
  return std::nearbyint(x / ulp) * ulp;                           // exact scaling by 2^k
}

class BrokenKernels : public EigenKernels {
 public:
  BrokenKernels(const Weights<float>& w, AttentionBugs attention_bugs)
      : EigenKernels(w), bugs_(attention_bugs) {}

  // Plain loops over the cache, with the bugs switched in.
  void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                 float* out) override {
    const int C = w_.config.n_embd, NH = w_.config.n_head, HS = C / NH;
    for (int t = 0; t < pass.n_tokens; ++t) {
      const int pos = pass.pos0 + t;
      int end = pass.mask == Mask::none ? pass.end() : pos + 1;
      if (bugs_.diagonal_hidden && pass.mask == Mask::causal) end = pos;
      if (bugs_.mask_ignored_in_prefill && !pass.decode) end = pass.end();
      if (bugs_.top_left_chunk_mask && pass.mask == Mask::causal) end = t + 1;
      for (int h = 0; h < NH; ++h) {
        const float* q = qkv + size_t(t) * 3 * C + h * HS;
        std::vector<float> p(end);
        float max_score = -INFINITY;
        for (int j = 0; j < end; ++j) {
          const float* k = cache.key(layer, h, j);
          float dot = 0;
          for (int d = 0; d < HS; ++d) dot += q[d] * k[d];
          p[j] = bugs_.unscaled ? dot : dot / std::sqrt(float(HS));
          max_score = std::max(max_score, p[j]);
        }
        float sum = 0;
        for (int j = 0; j < end; ++j) {
          const float s = bugs_.no_max_subtraction ? p[j] : p[j] - max_score;
          p[j] = bugs_.approximate_exp ? approximate_exp(s) : std::exp(s);
          sum += p[j];
        }
        float* o = out + size_t(t) * C + h * HS;
        for (int d = 0; d < HS; ++d) o[d] = 0;
        for (int j = 0; j < end; ++j) {
          const float* v = cache.value(layer, h, j);
          for (int d = 0; d < HS; ++d) o[d] += p[j] / sum * v[d];
        }
      }
    }
  }

 private:
  AttentionBugs bugs_;
};

// LayerNorm with eps outside the square root: (x - mean) / (sqrt(var) + eps).
class EpsOutsideSqrt : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void layer_norm(const Pass&, int layer, NormSite site, const float* x, int rows,
                  float* y) override {
    const int C = w_.config.n_embd;
    const float eps = float(w_.config.layer_norm_epsilon);
    const auto& g = norm_weight(layer, site);
    const auto& b = norm_bias(layer, site);
    for (int r = 0; r < rows; ++r) {
      const float* row = x + size_t(r) * C;
      float mean = 0, var = 0;
      for (int c = 0; c < C; ++c) mean += row[c];
      mean /= C;
      for (int c = 0; c < C; ++c) var += (row[c] - mean) * (row[c] - mean);
      var /= C;
      for (int c = 0; c < C; ++c)
        y[size_t(r) * C + c] = (row[c] - mean) / (std::sqrt(var) + eps) * g[c] + b[c];
    }
  }
};

// The erf GELU of torch.nn.GELU() instead of GPT-2's tanh form.
class ErfGelu : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void gelu(float* x, size_t n) override {
    for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] / std::sqrt(2.0f)));
  }
  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override {
    project(pass, layer, optimized::Projection::fc, x, y, false);
    gelu(y, size_t(pass.n_tokens) * 4 * w_.config.n_embd);
  }
};

// A decode step that adds the position embedding of p + 1 instead of p
// (clamped to the context, so the bug stays a wrong answer, not a crash).
class DecodeNextPosition : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void embed(const Pass& pass, const int* tokens, float* x) override {
    const int C = w_.config.n_embd;
    for (int t = 0; t < pass.n_tokens; ++t) {
      int pos = pass.pos0 + t;
      if (pass.decode) pos = std::min(pos + 1, w_.config.n_ctx - 1);
      for (int c = 0; c < C; ++c)
        x[size_t(t) * C + c] = w_.wte[size_t(tokens[t]) * C + c] + w_.wpe[size_t(pos) * C + c];
    }
  }
};

// A prefill chunk after the first writes its keys and values at slots
// relative to the chunk (0 .. T-1) instead of its absolute positions.
class CacheSlotRelativeToChunk : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) override {
    const int C = w_.config.n_embd, NH = w_.config.n_head, HS = C / NH;
    for (int t = 0; t < pass.n_tokens; ++t) {
      const int slot = pass.decode ? pass.pos0 + t : t;  // the bug: forgets pos0 in prefill
      for (int h = 0; h < NH; ++h)
        for (int d = 0; d < HS; ++d) {
          cache.key(layer, h, slot)[d] = qkv[size_t(t) * 3 * C + C + h * HS + d];
          cache.value(layer, h, slot)[d] = qkv[size_t(t) * 3 * C + 2 * C + h * HS + d];
        }
    }
  }
};

// Keys and values stored in IEEE half precision (an "f16 KV cache").
class HalfPrecisionCache : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void write_cache(const Pass& pass, int layer, const float* qkv, KvCache& cache) override {
    EigenKernels::write_cache(pass, layer, qkv, cache);
    const int NH = w_.config.n_head, HS = w_.config.head_size();
    for (int t = 0; t < pass.n_tokens; ++t)
      for (int h = 0; h < NH; ++h)
        for (int d = 0; d < HS; ++d) {
          float* k = cache.key(layer, h, pass.pos0 + t) + d;
          float* v = cache.value(layer, h, pass.pos0 + t) + d;
          *k = round_to_half(*k);
          *v = round_to_half(*v);
        }
  }
};

template <class K, class... Args>
KernelSet make_set(const std::string& name, Args... args) {
  KernelSet set;
  set.name = name;
  set.description = "deliberately broken (test only)";
  set.create = [args...](const Weights<float>& w, optimized::ThreadPool&) {
    return std::unique_ptr<optimized::Kernels>(new K(w, args...));
  };
  return set;
}

}  // namespace

const std::vector<BrokenKernelSet>& broken_kernel_sets() {
  static const std::vector<BrokenKernelSet> kSets = {
      {"broken-unscaled", "attention scores q.k not divided by sqrt(HS)"},
      {"broken-diagonal-hidden", "causal mask off by one: a query does not see its own key"},
      {"broken-no-mask-in-prefill", "prefill ignores the causal mask"},
      {"broken-softmax-no-max", "softmax without subtracting the max (overflows)"},
      {"broken-top-left-chunk-mask",
       "a chunk's queries masked against the first keys, not their absolute positions"},
      {"broken-eps-outside-sqrt", "LayerNorm divides by sqrt(var) + eps"},
      {"broken-erf-gelu", "the erf GELU instead of GPT-2's tanh form"},
      {"broken-decode-next-position", "a decode step adds the position embedding of p+1"},
      {"broken-cache-slot-after-chunk",
       "a later prefill chunk writes its keys/values at slots relative to the chunk"},
      {"broken-f16-kv-cache", "keys and values stored rounded to IEEE half precision"},
      {"broken-approximate-exp", "softmax with a fast exp of relative error ~1e-4"},
  };
  return kSets;
}

void register_broken_kernel_sets() {
  static std::once_flag once;
  std::call_once(once, [] {
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-unscaled", AttentionBugs{.unscaled = true}));
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-diagonal-hidden", AttentionBugs{.diagonal_hidden = true}));
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-no-mask-in-prefill", AttentionBugs{.mask_ignored_in_prefill = true}));
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-softmax-no-max", AttentionBugs{.no_max_subtraction = true}));
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-top-left-chunk-mask", AttentionBugs{.top_left_chunk_mask = true}));
    optimized::register_kernel_set(make_set<EpsOutsideSqrt>("broken-eps-outside-sqrt"));
    optimized::register_kernel_set(make_set<ErfGelu>("broken-erf-gelu"));
    optimized::register_kernel_set(make_set<DecodeNextPosition>("broken-decode-next-position"));
    optimized::register_kernel_set(make_set<CacheSlotRelativeToChunk>("broken-cache-slot-after-chunk"));
    optimized::register_kernel_set(make_set<HalfPrecisionCache>("broken-f16-kv-cache"));
    optimized::register_kernel_set(make_set<BrokenKernels>("broken-approximate-exp", AttentionBugs{.approximate_exp = true}));
  });
}


}  // namespace gpt2::oracle
