#include "oracle/broken_kernels.h"

#include <cmath>
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <type_traits>

#include "model/profile.h"
#include "model/safetensors.h"
#include "optimized/eigen_kernels.h"
#include "optimized/gelu.h"
#include "optimized/gelu_table.h"
#include "optimized/kernels.h"
#include "optimized/panel_kernels.h"
#include "optimized/profile_kernels.h"

namespace gpt2::oracle {

namespace {

using optimized::EigenKernels;
using optimized::KernelSet;
using optimized::KvCache;
using optimized::NormSite;
using optimized::Pass;

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
  std::frexp(x, &exponent);                                   // |x| in [2^(e-1), 2^e)
  const int ulp_exponent = std::max(exponent - 1, -14) - 10;  // half: 10 fraction bits
  const float ulp = std::ldexp(1.0f, ulp_exponent);
  return std::nearbyint(x / ulp) * ulp;  // exact scaling by 2^k
}

// Attention bugs, each one step of the maths through EigenKernels' hooks.

// Scores q·k, not q·k / sqrt(HS).
class UnscaledScores : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  float score_scale() const override { return 1.0f; }
};

// Scores q·k / sqrt(C) instead of / sqrt(HS): the model's width, not the head's.
class ScaledByModelWidth : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  float score_scale() const override {
    return 1.0f / std::sqrt(static_cast<float>(w_.config.n_embd));
  }
};

// The causal mask off by one: a query sees keys 0 .. pos-1, not its own.
class DiagonalHidden : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  int visible_keys(const Pass& pass, int pos) const override {
    return pass.mask == Mask::causal ? pos : pass.end();
  }
};

// Every query of a prefill sees the whole pass (the mask forgotten there).
class NoMaskInPrefill : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  int visible_keys(const Pass& pass, int pos) const override {
    return pass.decode ? pos + 1 : pass.end();
  }
};

// Query t of a chunk sees keys 0 .. t, not 0 .. pos0 + t (a mask built for
// the chunk alone, anchored at the top left).
class TopLeftChunkMask : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  int visible_keys(const Pass& pass, int pos) const override {
    return pass.mask == Mask::causal ? pos - pass.pos0 + 1 : pass.end();
  }
};

// softmax as exp(s) / Σ exp(s), the max not subtracted (overflows).
class SoftmaxWithoutMax : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void softmax(float* scores, int n) const override {
    float sum = 0;
    for (int j = 0; j < n; ++j) sum += scores[j] = std::exp(scores[j]);
    for (int j = 0; j < n; ++j) scores[j] /= sum;
  }
};

// softmax with a fast exp of relative error ~1e-4 (approximate_exp).
class ApproximateExp : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void softmax(float* scores, int n) const override {
    float max_score = -INFINITY, sum = 0;
    for (int j = 0; j < n; ++j) max_score = std::max(max_score, scores[j]);
    for (int j = 0; j < n; ++j) sum += scores[j] = approximate_exp(scores[j] - max_score);
    for (int j = 0; j < n; ++j) scores[j] /= sum;
  }
};

// LayerNorm with eps outside the square root: (x - mean) / (sqrt(var) + eps).
class EpsOutsideSqrt : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  float inverse_std(int, NormSite, float variance, float eps) const override {
    return 1.0f / (std::sqrt(variance) + eps);
  }
};

// ln_2 with eps 1e-6 hard-coded, whatever the config says (ln_1 and ln_f
// right): the LayerNorm of a new kernel copied from a model that uses 1e-6.
class Ln2EpsHardCoded : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  float inverse_std(int layer, NormSite site, float variance, float eps) const override {
    return EigenKernels::inverse_std(layer, site, variance, site == NormSite::ln_2 ? 1e-6f : eps);
  }
};

// Block 1's attention output projection adds block 0's bias (a per-layer
// pointer off by one, in one layer only).
class BiasFromLayerZeroInBlockOne : public EigenKernels {
 public:
  explicit BiasFromLayerZeroInBlockOne(const Weights<float>& w) : EigenKernels(w) {
    if (w_.blocks.size() > 1) w_.blocks[1].attn_c_proj_bias = w_.blocks[0].attn_c_proj_bias;
  }
};

// A GEMM whose reduction is unrolled by 4 with the remainder loop forgotten:
// y[t][j] = Σ_{i < 4·floor(in/4)} x[t][i]·W[i][j] + b[j]. Right whenever the
// inner size is a multiple of 4 (every projection of tiny, small and GPT-2),
// wrong otherwise (the classic tiling bug, visible only for some shapes).
class GemmDropsRemainder : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void project(const Pass& pass, int layer, optimized::Projection p, const float* x, float* y,
               bool accumulate) override {
    const int in = optimized::projection_in(w_.config, p),
              out = optimized::projection_out(w_.config, p);
    const std::vector<float>& W = projection_weight(layer, p);
    const std::vector<float>& b = projection_bias(layer, p);
    const int unrolled = in / 4 * 4;  // the bug: the last in % 4 terms are dropped
    for (int t = 0; t < pass.n_tokens; ++t)
      for (int j = 0; j < out; ++j) {
        float sum = 0;
        for (int i = 0; i < unrolled; i += 4)
          for (int u = 0; u < 4; ++u) sum += x[size_t(t) * in + i + u] * W[size_t(i + u) * out + j];
        float& dst = y[size_t(t) * out + j];
        dst = (accumulate ? dst : 0.0f) + (sum + b[j]);
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

// Batch bugs: each shows only in a batch (B > 1 or padding), never in a
// single sequence.

// Position ids counted over the padding (the transformers #3021 bug): a real
// token's position embedding is that of its cache slot, i.e. of its column in
// the padded rectangle, not the count of real tokens before it.
class PositionsCountPadding : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void embed_batch(const optimized::BatchPass& batch, const int* tokens, float* x) override {
    std::vector<optimized::BatchRow> rows(batch.rows.begin(), batch.rows.end());
    for (auto& row : rows) row.real.pos0 = row.slots.pos0 + row.first;  // the bug
    optimized::BatchPass shifted = batch;
    shifted.rows = rows;
    EigenKernels::embed_batch(shifted, tokens, x);
  }
};

// The padding's keys visible (no padding mask) in a prefill; decode steps right.
class PaddedKeysVisibleInPrefill : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void attention_batch(const optimized::BatchPass& batch, int layer, const float* qkv,
                       std::span<const KvCache> caches, float* out) override {
    optimized::BatchPass unmasked = batch;
    unmasked.padding_mask = batch.decode;  // the bug: forgotten in prefill
    EigenKernels::attention_batch(unmasked, layer, qkv, caches, out);
  }
};

// The padding's keys visible in decode steps only (the mask applied to the
// prompt, then forgotten when the cache is extended).
class PaddedKeysVisibleInDecode : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void attention_batch(const optimized::BatchPass& batch, int layer, const float* qkv,
                       std::span<const KvCache> caches, float* out) override {
    optimized::BatchPass unmasked = batch;
    unmasked.padding_mask = !batch.decode;  // the bug: forgotten in decode
    EigenKernels::attention_batch(unmasked, layer, qkv, caches, out);
  }
};

// Row r's keys and values written into row r+1's cache (the last row's into
// row 0's): a cache index off by one. One row alone writes its own.
class CacheIntoNextRow : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;
  void write_cache_batch(const optimized::BatchPass& batch, int layer, const float* qkv,
                         std::span<KvCache> caches) override {
    const size_t row_floats = size_t(batch.n_tokens) * 3 * w_.config.n_embd;
    for (int b = 0; b < batch.n_rows; ++b)
      write_cache(batch.rows[b].slots, layer, qkv + b * row_floats,
                  caches[(b + 1) % batch.n_rows]);  // the bug: (b + 1), not b
  }
};

// `fast` whose projections sum in another order when the batch has more
// than one row (k from the last to the first, in the bias-first fma chain):
// a legitimate float32 order, within budget, but a row's bits then depend on
// the batch it is in. Declares batch invariance, wrongly.
class GemmOrderDependsOnBatch : public optimized::PanelKernels {
 public:
  GemmOrderDependsOnBatch(const Weights<float>& w, optimized::ThreadPool& pool)
      : PanelKernels(w, pool, optimized::WeightFormat::f32) {}
  void project_batch(const optimized::BatchPass& batch, int layer, optimized::Projection p,
                     const float* x, float* y, bool accumulate) override {
    if (batch.n_rows == 1) return PanelKernels::project_batch(batch, layer, p, x, y, accumulate);
    descending(batch, layer, p, x, y, accumulate ? Fused::accumulate : Fused::store);
  }
  void project_gelu_batch(const optimized::BatchPass& batch, int layer, const float* x,
                          float* y) override {
    if (batch.n_rows == 1) return PanelKernels::project_gelu_batch(batch, layer, x, y);
    descending(batch, layer, optimized::Projection::fc, x, y, Fused::gelu);
  }

 private:
  enum class Fused { store, accumulate, gelu };
  void descending(const optimized::BatchPass& batch, int layer, optimized::Projection p,
                  const float* x, float* y, Fused fused) const {
    const optimized::PanelMatrix& W = layers_[layer].matrix[static_cast<int>(p)];
    const std::vector<float>& bias = layers_[layer].bias[static_cast<int>(p)];
    const int rows = batch.n_rows * batch.n_tokens, K = W.rows, N = W.cols;
    for (int t = 0; t < rows; ++t)
      for (int n = 0; n < N; ++n) {
        float acc = bias[n];
        for (int k = K - 1; k >= 0; --k) acc = std::fma(x[size_t(t) * K + k], W.at(k, n), acc);
        float& dst = y[size_t(t) * N + n];
        dst = fused == Fused::gelu         ? optimized::gelu_tanh_f32(acc)
              : fused == Fused::accumulate ? dst + acc
                                           : acc;
      }
  }
};

// Profile bugs: each declares a precision profile (model/profile.h) and
// computes another arithmetic, one rounding point wrong. Each is the kernels
// of that profile's set (ProfileKernels, on top of fast's PanelKernels) with
// that one point changed, and declares the profile and its effective weights
// as the correct set does, so that only judging it under its profile tells
// the bug from the declared rounding (issue 16).

// GELU looked up in the f16 table for every input, the clamps forgotten: at
// u >= 10 it gives f16(gelu(f16(u))) = f16(u), not u. (At u <= -10 the
// float32 formula is already 0, so there only the sign of zero differs.)
class GeluTableWithoutClamps : public optimized::ProfileKernels {
 public:
  using ProfileKernels::ProfileKernels;

 protected:
  void table_gelu(float* x, size_t n) override {
    for (size_t i = 0; i < n; ++i) x[i] = optimized::gelu_f16_table_lookup(x[i]);
  }
};

// Every tensor truncated to bfloat16 (its low 16 bits cleared: toward zero),
// where bf16-weights rounds to nearest, ties to even.
Weights<float> truncate_weights_to_bf16(const Weights<float>& weights) {
  Weights<float> truncated = weights;
  for_each_tensor(truncated, [](const std::string&, std::vector<float>& t, const Shape&) {
    for (float& v : t) v = std::bit_cast<float>(std::bit_cast<uint32_t>(v) & 0xFFFF0000u);
  });
  return truncated;
}

// A broken set declaring the built-in profile `declared` (and its
// effective_weights, round_weights(·, declared)): kernels K (ProfileKernels
// or a subclass) applying `roundings` on the weights `stored(w)`.
template <class K>
KernelSet declaring_profile(const std::string& name, const std::string& declared,
                            const Profile& roundings,
                            std::function<Weights<float>(const Weights<float>&)> stored) {
  KernelSet set;
  set.name = name;
  set.description = "deliberately broken (test only); declares the profile " + declared;
  set.create = [roundings, stored](const Weights<float>& w, optimized::ThreadPool& pool) {
    return std::unique_ptr<optimized::Kernels>(new K(stored(w), pool, roundings));
  };
  const Profile& profile = find_profile(declared);
  if (profile.weights != FloatFormat::f32 || profile.norms_and_biases != FloatFormat::f32)
    set.effective_weights = [profile](const Weights<float>& w) {
      return round_weights(w, profile);
    };
  set.profile = declared;
  return set;
}

// The weights as the built-in profile `name` rounds them, with `weights`
// (matrices and embeddings) to another format.
std::function<Weights<float>(const Weights<float>&)> weights_of(const std::string& name,
                                                                FloatFormat weights) {
  Profile profile = find_profile(name);
  profile.weights = weights;
  return [profile](const Weights<float>& w) { return round_weights(w, profile); };
}

KernelSet kv_stores_bf16() {
  Profile roundings = find_profile("f16-kv");
  roundings.kv_cache = FloatFormat::bf16;  // the bug: bf16, not f16
  return declaring_profile<optimized::ProfileKernels>(
      "broken-f16-kv-stores-bf16", "f16-kv", roundings, [](const Weights<float>& w) { return w; });
}

KernelSet gelu_table_no_clamps() {
  return declaring_profile<GeluTableWithoutClamps>("broken-gelu-table-no-clamps", "f16-gelu-table",
                                                   find_profile("f16-gelu-table"),
                                                   [](const Weights<float>& w) { return w; });
}

KernelSet autocast_rounds_residual() {
  Profile roundings = find_profile("bf16-autocast");
  roundings.residual = FloatFormat::bf16;  // the bug: the residual stream rounded too
  return declaring_profile<optimized::ProfileKernels>(
      "broken-autocast-rounds-residual", "bf16-autocast", roundings,
      weights_of("bf16-autocast", FloatFormat::bf16));
}

KernelSet bf16_weights_truncated() {
  // bf16-weights' arithmetic is float32's (fast), on the weights truncated.
  return declaring_profile<optimized::ProfileKernels>("broken-bf16-weights-truncated",
                                                      "bf16-weights", find_profile("f32"),
                                                      truncate_weights_to_bf16);
}

KernelSet ggml_f16_with_bf16_weights() {
  return declaring_profile<optimized::ProfileKernels>(
      "broken-ggml-f16-bf16-weights", "ggml-f16", find_profile("ggml-f16"),
      weights_of("ggml-f16", FloatFormat::bf16));  // the bug: bf16, not f16
}

template <class K>
KernelSet make_set(const std::string& name) {
  KernelSet set;
  set.name = name;
  set.description = "deliberately broken (test only)";
  set.create = [](const Weights<float>& w, optimized::ThreadPool& pool) {
    if constexpr (std::is_constructible_v<K, const Weights<float>&, optimized::ThreadPool&>)
      return std::unique_ptr<optimized::Kernels>(new K(w, pool));
    else
      return std::unique_ptr<optimized::Kernels>(new K(w));
  };
  return set;
}

}  // namespace

const std::vector<BrokenKernelSet>& broken_kernel_sets() {
  static const std::vector<BrokenKernelSet> kSets = {
      {"broken-unscaled", "attention scores q.k not divided by sqrt(HS)"},
      {"broken-scaled-by-model-width", "attention scores divided by sqrt(n_embd), not sqrt(HS)"},
      {"broken-diagonal-hidden", "causal mask off by one: a query does not see its own key"},
      {"broken-no-mask-in-prefill", "prefill ignores the causal mask"},
      {"broken-softmax-no-max", "softmax without subtracting the max (overflows)"},
      {"broken-top-left-chunk-mask",
       "a chunk's queries masked against the first keys, not their absolute positions"},
      {"broken-eps-outside-sqrt", "LayerNorm divides by sqrt(var) + eps"},
      {"broken-ln2-eps-1e-6", "ln_2 uses eps 1e-6 whatever the config says (ln_1, ln_f right)"},
      {"broken-erf-gelu", "the erf GELU instead of GPT-2's tanh form"},
      {"broken-decode-next-position", "a decode step adds the position embedding of p+1"},
      {"broken-cache-slot-after-chunk",
       "a later prefill chunk writes its keys/values at slots relative to the chunk"},
      {"broken-f16-kv-cache", "keys and values stored rounded to IEEE half precision"},
      {"broken-approximate-exp", "softmax with a fast exp of relative error ~1e-4"},
      {"broken-bias-from-layer-0-in-block-1",
       "block 1's attention projection adds block 0's bias (one layer only)"},
      {"broken-gemm-drops-remainder",
       "projections unrolled by 4 drop the last in % 4 terms (shows only where in % 4 != 0)"},
      {"broken-positions-count-padding",
       "batch: position ids counted over the padding (transformers #3021)"},
      {"broken-padded-keys-visible-in-prefill", "batch: no padding mask in prefill"},
      {"broken-padded-keys-visible-in-decode", "batch: no padding mask in decode steps"},
      {"broken-cache-into-next-row", "batch: row r's keys and values written into row r+1's cache"},
      {"broken-gemm-order-depends-on-batch",
       "batch: fast with projections summed in another order when B > 1; declares batch "
       "invariance (within budget, not batch-invariant)"},
      {"broken-bf16-weights-truncated",
       "profile bf16-weights: weights truncated to bf16 (toward zero), not rounded to nearest"},
      {"broken-f16-kv-stores-bf16", "profile f16-kv: keys and values stored in bf16, not f16"},
      {"broken-gelu-table-no-clamps",
       "profile f16-gelu-table: the table looked up at |u| >= 10 too (gives f16(u), not u, at u "
       ">= 10)"},
      {"broken-autocast-rounds-residual",
       "profile bf16-autocast: the residual stream (embed, mid, block.l) rounded to bf16 too"},
      {"broken-ggml-f16-bf16-weights", "profile ggml-f16: weights rounded to bf16, not f16"},
  };
  return kSets;
}

void register_broken_kernel_sets() {
  static std::once_flag once;
  std::call_once(once, [] {
    using optimized::register_kernel_set;
    register_kernel_set(make_set<UnscaledScores>("broken-unscaled"));
    register_kernel_set(make_set<ScaledByModelWidth>("broken-scaled-by-model-width"));
    register_kernel_set(make_set<DiagonalHidden>("broken-diagonal-hidden"));
    register_kernel_set(make_set<NoMaskInPrefill>("broken-no-mask-in-prefill"));
    register_kernel_set(make_set<SoftmaxWithoutMax>("broken-softmax-no-max"));
    register_kernel_set(make_set<TopLeftChunkMask>("broken-top-left-chunk-mask"));
    register_kernel_set(make_set<EpsOutsideSqrt>("broken-eps-outside-sqrt"));
    register_kernel_set(make_set<Ln2EpsHardCoded>("broken-ln2-eps-1e-6"));
    register_kernel_set(make_set<ErfGelu>("broken-erf-gelu"));
    register_kernel_set(make_set<DecodeNextPosition>("broken-decode-next-position"));
    register_kernel_set(make_set<CacheSlotRelativeToChunk>("broken-cache-slot-after-chunk"));
    register_kernel_set(make_set<HalfPrecisionCache>("broken-f16-kv-cache"));
    register_kernel_set(make_set<ApproximateExp>("broken-approximate-exp"));
    register_kernel_set(
        make_set<BiasFromLayerZeroInBlockOne>("broken-bias-from-layer-0-in-block-1"));
    register_kernel_set(make_set<GemmDropsRemainder>("broken-gemm-drops-remainder"));
    register_kernel_set(make_set<PositionsCountPadding>("broken-positions-count-padding"));
    register_kernel_set(
        make_set<PaddedKeysVisibleInPrefill>("broken-padded-keys-visible-in-prefill"));
    register_kernel_set(
        make_set<PaddedKeysVisibleInDecode>("broken-padded-keys-visible-in-decode"));
    register_kernel_set(make_set<CacheIntoNextRow>("broken-cache-into-next-row"));
    KernelSet order = make_set<GemmOrderDependsOnBatch>("broken-gemm-order-depends-on-batch");
    order.batch_invariant = true;  // the claim the oracle refutes
    register_kernel_set(order);
    register_kernel_set(bf16_weights_truncated());
    register_kernel_set(kv_stores_bf16());
    register_kernel_set(gelu_table_no_clamps());
    register_kernel_set(autocast_rounds_residual());
    register_kernel_set(ggml_f16_with_bf16_weights());
  });
}

}  // namespace gpt2::oracle
