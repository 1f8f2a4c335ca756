// PanelKernels (panel_kernels.h): the kernels of the `fast` and `bf16` sets,
// which differ only in the format of their packed weights. Not itself a kernel
// set file (those are NAME_kernels.cpp, registered by their file name; see
// optimized/CMakeLists.txt): fast_kernels.cpp and bf16_kernels.cpp register
// the two sets.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/error.h"
#include "model/safetensors.h"
#include "optimized/cpu_features.h"
#include "optimized/online_attention.h"
#include "optimized/panel_kernels.h"

#ifdef GPT2_HAVE_X86
#include <immintrin.h>
#endif

namespace gpt2::optimized {

namespace {
// The small tensors (biases, LayerNorm, wpe) stay float; in a bf16 set they
// carry bf16-rounded values, as every weight tensor does (the matrices are
// rounded by pack_panels).
std::vector<float> small_tensor(const std::vector<float>& t, WeightFormat format) {
  std::vector<float> out = t;
  if (format == WeightFormat::bf16)
    for (float& v : out) v = bf16_to_f32(f32_to_bf16(v));
  return out;
}
}  // namespace

PanelKernels::PanelKernels(const Weights<float>& w, ThreadPool& pool, WeightFormat format)
    : config_(w.config), pool_(pool) {
  const Config& c = config_;
  auto small = [format](const std::vector<float>& t) { return small_tensor(t, format); };
  const int C = c.n_embd;
  lm_head_ = pack_panels(w.wte.data(), C, c.vocab_size, /*transposed=*/true, format);
  wpe_ = small(w.wpe);
  layers_.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    const auto& b = w.blocks[l];
    Layer& L = layers_[l];
    const std::vector<float>* mats[4] = {&b.attn_c_attn_weight, &b.attn_c_proj_weight,
                                         &b.mlp_c_fc_weight, &b.mlp_c_proj_weight};
    const std::vector<float>* biases[4] = {&b.attn_c_attn_bias, &b.attn_c_proj_bias,
                                           &b.mlp_c_fc_bias, &b.mlp_c_proj_bias};
    for (int p = 0; p < 4; ++p) {
      const auto proj = static_cast<Projection>(p);
      L.matrix[p] = pack_panels(mats[p]->data(), projection_in(c, proj), projection_out(c, proj),
                                false, format);
      L.bias[p] = small(*biases[p]);
    }
    L.ln_1_weight = small(b.ln_1_weight);
    L.ln_1_bias = small(b.ln_1_bias);
    L.ln_2_weight = small(b.ln_2_weight);
    L.ln_2_bias = small(b.ln_2_bias);
  }
  ln_f_weight_ = small(w.ln_f_weight);
  ln_f_bias_ = small(w.ln_f_bias);
  scratch_.assign(pool.size(), AlignedVector<float>(gemm_scratch_floats(4 * C)));
}

void PanelKernels::embed(const Pass& pass, const int* tokens, float* x) {
  const int C = config_.n_embd;
  for (int t = 0; t < pass.n_tokens; ++t) {
    const float* pos = wpe_.data() + size_t(pass.pos0 + t) * C;
    for (int k = 0; k < C; ++k) x[size_t(t) * C + k] = lm_head_.at(k, tokens[t]) + pos[k];
  }
}

namespace {
// One row of LayerNorm, two passes (mean, then the variance of the centred
// row) with 8-lane sums, lane i taking elements i, i+8, ..., summed as
// ((s0+s4)+(s2+s6))+((s1+s5)+(s3+s7)); y = ((x - mean)·inv)·gamma + beta.
inline float sum_lanes(const float* s) {
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

void layer_norm_row_scalar(const float* in, const float* gamma, const float* beta, int C, float eps,
                           float* out) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int k = 0; k < C; ++k) s[k % 8] += in[k];
  const float mean = sum_lanes(s) / C;
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int k = 0; k < C; ++k) {
    const float d = in[k] - mean;
    v[k % 8] = std::fma(d, d, v[k % 8]);
  }
  const float inv = 1.0f / std::sqrt(sum_lanes(v) / C + eps);
  for (int k = 0; k < C; ++k) out[k] = (in[k] - mean) * inv * gamma[k] + beta[k];
}

#ifdef GPT2_HAVE_X86
// The same float operations as layer_norm_row_scalar, 8 lanes at a time (the
// AVX-512 path runs it too: its sums are 8 lanes wide).
GPT2_TARGET_AVX2 void layer_norm_row_avx2(const float* in, const float* gamma, const float* beta,
                                          int C, float eps, float* out) {
  const int main = C / 8 * 8;
  alignas(32) float s[8], v[8];
  __m256 acc = _mm256_setzero_ps();
  for (int k = 0; k < main; k += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(in + k));
  _mm256_store_ps(s, acc);
  for (int k = main; k < C; ++k) s[k - main] += in[k];
  const float mean = sum_lanes(s) / C;
  const __m256 mv = _mm256_set1_ps(mean);
  acc = _mm256_setzero_ps();
  for (int k = 0; k < main; k += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(in + k), mv);
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  _mm256_store_ps(v, acc);
  for (int k = main; k < C; ++k) {
    const float d = in[k] - mean;
    v[k - main] = std::fma(d, d, v[k - main]);
  }
  const float inv = 1.0f / std::sqrt(sum_lanes(v) / C + eps);
  const __m256 iv = _mm256_set1_ps(inv);
  for (int k = 0; k < main; k += 8) {
    const __m256 n = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + k), mv), iv);
    _mm256_storeu_ps(out + k, _mm256_add_ps(_mm256_mul_ps(n, _mm256_loadu_ps(gamma + k)),
                                            _mm256_loadu_ps(beta + k)));
  }
  for (int k = main; k < C; ++k) out[k] = (in[k] - mean) * inv * gamma[k] + beta[k];
}
#endif
}  // namespace

void PanelKernels::layer_norm(const Pass&, int layer, NormSite site, const float* x, int rows,
                              float* y) {
  const int C = config_.n_embd;
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  const float* gamma = site == NormSite::ln_f   ? ln_f_weight_.data()
                       : site == NormSite::ln_1 ? layers_[layer].ln_1_weight.data()
                                                : layers_[layer].ln_2_weight.data();
  const float* beta = site == NormSite::ln_f   ? ln_f_bias_.data()
                      : site == NormSite::ln_1 ? layers_[layer].ln_1_bias.data()
                                               : layers_[layer].ln_2_bias.data();
  auto rows_of = [&](int begin, int end) {
    for (int t = begin; t < end; ++t) {
#ifdef GPT2_HAVE_X86
      if (has_avx2(simd_in_use())) {
        layer_norm_row_avx2(x + size_t(t) * C, gamma, beta, C, eps, y + size_t(t) * C);
        continue;
      }
#endif
      layer_norm_row_scalar(x + size_t(t) * C, gamma, beta, C, eps, y + size_t(t) * C);
    }
  };
  // A decode step's single row is not worth waking the pool for.
  if (rows == 1) return rows_of(0, 1);
  pool_.parallel_for(
      rows, [&](int begin, int end, int) { rows_of(begin, end); }, chunk_grain(rows, 1));
}

int PanelKernels::chunk_grain(int n, int multiple) const {
  const int target = std::max(1, n / (pool_.size() * kChunksPerThread));
  return (target + multiple - 1) / multiple * multiple;
}

void PanelKernels::run_gemm(const float* x, int T, const PanelMatrix& w, const float* bias,
                            float* y, Epilogue e) {
  // A step that streams the weights hands out one group of panels per chunk
  // (4 or 8 panels: 0.1-1.6 MB, some 8-130 us from memory), so a thread that
  // finishes first waits at most one such chunk for the other; at
  // kChunksPerThread chunks per thread the lm_head's last chunk alone was
  // ~5 MB (bf16), and a step's end-of-matrix waits made its decode slower
  // (bf16 2-5%, f32 9%; gpt2-124m-shape, 2 threads, interleaved A/B). The
  // results do not depend on the chunks: every output is one fma chain.
  const int group = gemm_panel_group(T);
  pool_.parallel_for(
      w.panels(),
      [&](int begin, int end, int thread) {
        gemm_panels(x, T, w.rows, w, bias, y, w.cols, e, begin, end, scratch_[thread].data());
      },
      gemm_streams_weights(T) ? group : chunk_grain(w.panels(), group));
}

void PanelKernels::project(const Pass& pass, int layer, Projection p, const float* x, float* y,
                           bool accumulate) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(p);
  run_gemm(x, pass.n_tokens, L.matrix[i], L.bias[i].data(), y,
           accumulate ? Epilogue::accumulate : Epilogue::store);
}

void PanelKernels::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(Projection::fc);
  run_gemm(x, pass.n_tokens, L.matrix[i], L.bias[i].data(), y, Epilogue::gelu_tanh);
}

void PanelKernels::attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                             float* out) {
  const int C = config_.n_embd, NH = config_.n_head, HS = config_.head_size(), T = pass.n_tokens;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  // Task i = (head i / T, query i % T), in chunks of consecutive queries of
  // one head (the growing causal work is spread by the dynamic hand-out).
  pool_.parallel_for(
      NH * T,
      [&](int begin, int end, int) {
        for (int i = begin; i < end; ++i) {
          const int h = i / T, t = i % T, pos = pass.pos0 + t;
          const int n = visible_keys(pass.mask, pos, pass.end());
          attend_online_softmax(qkv + size_t(t) * 3 * C + h * HS, cache.key(layer, h, 0),
                                cache.value(layer, h, 0), n, HS, scale,
                                out + size_t(t) * C + h * HS);
        }
      },
      chunk_grain(NH * T, 1));
}

void PanelKernels::logits(const Pass&, const float* x, int rows, float* out) {
  run_gemm(x, rows, lm_head_, nullptr, out, Epilogue::store);
}

size_t PanelKernels::weight_bytes_per_token() const {
  size_t n = lm_head_.bytes();
  for (const auto& L : layers_)
    for (const auto& m : L.matrix) n += m.bytes();
  return n;
}

// ---- batches -------------------------------------------------------------------

void PanelKernels::layer_norm_batch(const BatchPass& batch, int layer, NormSite site,
                                    const float* x, float* y) {
  layer_norm(batch.rows[0].slots, layer, site, x, batch.n_rows * batch.n_tokens, y);
}

void PanelKernels::project_batch(const BatchPass& batch, int layer, Projection p, const float* x,
                                 float* y, bool accumulate) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(p);
  run_gemm(x, batch.n_rows * batch.n_tokens, L.matrix[i], L.bias[i].data(), y,
           accumulate ? Epilogue::accumulate : Epilogue::store);
}

void PanelKernels::project_gelu_batch(const BatchPass& batch, int layer, const float* x, float* y) {
  const Layer& L = layers_[layer];
  const int i = static_cast<int>(Projection::fc);
  run_gemm(x, batch.n_rows * batch.n_tokens, L.matrix[i], L.bias[i].data(), y, Epilogue::gelu_tanh);
}

void PanelKernels::logits_batch(const BatchPass& batch, const float* x, float* out) {
  run_gemm(x, batch.n_rows * batch.n_tokens, lm_head_, nullptr, out, Epilogue::store);
}

void PanelKernels::attention_batch(const BatchPass& batch, int layer, const float* qkv,
                                   std::span<const KvCache> caches, float* out) {
  const int C = config_.n_embd, NH = config_.n_head, HS = config_.head_size();
  const int T = batch.n_tokens;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  pool_.parallel_for(batch.n_rows * NH * T, [&](int begin, int end, int) {
    for (int i = begin; i < end; ++i) {
      const int b = i / (NH * T), h = (i / T) % NH, t = i % T;
      const BatchRow& row = batch.rows[b];
      const size_t column = size_t(b) * T + t;
      float* o = out + column * C + h * HS;
      // With the padding mask, the row alone (row.real) on its cache seen
      // from key_begin; without it, the row's slots on the whole cache.
      const bool real = t >= row.first && t < row.first + row.count;
      if (batch.padding_mask && !real) {  // a padding query sees no key
        std::memset(o, 0, HS * sizeof(float));
        continue;
      }
      const Pass& pass = batch.padding_mask ? row.real : row.slots;
      const int origin = batch.padding_mask ? row.key_begin : 0;
      const int pos = pass.pos0 + (batch.padding_mask ? t - row.first : t);
      const int n = visible_keys(pass.mask, pos, pass.end());
      const KvCache& cache = caches[b];
      attend_online_softmax(qkv + column * 3 * C + h * HS, cache.key(layer, h, origin),
                            cache.value(layer, h, origin), n, HS, scale, o);
    }
  });
}

}  // namespace gpt2::optimized
