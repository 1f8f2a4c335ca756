#include "optimized/online_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "optimized/cpu_features.h"
#include "optimized/exp_f32.h"

#ifdef GPT2_HAVE_X86
#include <immintrin.h>
#endif

namespace gpt2::optimized {

namespace {
constexpr int kBlock = 8;  // keys per block: one ymm of scores
constexpr float kMinusInf = -std::numeric_limits<float>::infinity();

// ---- scalar path: the AVX2 path's float operations, one lane at a time ----
float dot_scalar(const float* q, const float* k, int HS) {
  float a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int d0 = 0; d0 < HS; d0 += 8)
    for (int i = 0; i < 8; ++i) {
      const int d = d0 + i;
      a[i] = d < HS ? std::fma(q[d], k[d], a[i]) : std::fma(0.0f, 0.0f, a[i]);
    }
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

void attend_scalar(const float* q, const float* keys, const float* values, int n, int HS,
                   float scale, float* o) {
  float m = kMinusInf, l = 0.0f;
  for (int d = 0; d < HS; ++d) o[d] = 0.0f;
  for (int j0 = 0; j0 < n; j0 += kBlock) {
    const int nb = std::min(kBlock, n - j0);
    float s[kBlock], p[kBlock];
    for (int j = 0; j < kBlock; ++j)
      s[j] = j < nb ? dot_scalar(q, keys + size_t(j0 + j) * HS, HS) * scale : kMinusInf;
    float t[4];
    for (int i = 0; i < 4; ++i) t[i] = max_like_simd(s[i], s[i + 4]);
    const float block_max = max_like_simd(max_like_simd(t[0], t[2]), max_like_simd(t[1], t[3]));
    const float m_new = max_like_simd(block_max, m);
    if (m_new > m) {
      const float c = exp_f32(m - m_new);
      l *= c;
      for (int d = 0; d < HS; ++d) o[d] *= c;
      m = m_new;
    }
    for (int j = 0; j < kBlock; ++j) p[j] = j < nb ? exp_f32(s[j] - m) : 0.0f;
    l += ((p[0] + p[4]) + (p[2] + p[6])) + ((p[1] + p[5]) + (p[3] + p[7]));
    for (int j = 0; j < nb; ++j) {
      const float* v = values + size_t(j0 + j) * HS;
      for (int d = 0; d < HS; ++d) o[d] = std::fma(p[j], v[d], o[d]);
    }
  }
  for (int d = 0; d < HS; ++d) o[d] /= l;
}

#ifdef GPT2_HAVE_X86
// Lanes i < count all ones (a maskload mask).
GPT2_TARGET_AVX2 inline __m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Horizontal tree ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)) of 8 accumulators at
// once: lane j of the result is the sum of acc[j].
GPT2_TARGET_AVX2 inline __m256 reduce8(const __m256* acc) {
  const __m256 h0123 =
      _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
  const __m256 h4567 =
      _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(h0123, h4567, 0x20),
                       _mm256_permute2f128_ps(h0123, h4567, 0x31));
}

// acc[j] = the 8 lane sums of q·k_j for the block's keys j < nb (zero past
// nb): each chunk of q is loaded once and meets every key. NB = kBlock for a
// full block (a compile-time count keeps acc in registers), else 0 (nb keys).
template <int NB>
GPT2_TARGET_AVX2 __attribute__((always_inline)) inline void block_dots(const float* q,
                                                                       __m256 q_tail,
                                                                       const float* k0, int HS,
                                                                       int main, __m256i tail,
                                                                       int nb, __m256* acc) {
  const int count = NB ? NB : nb;
#pragma GCC unroll 8
  for (int j = 0; j < kBlock; ++j) acc[j] = _mm256_setzero_ps();
  for (int d = 0; d < main; d += 8) {
    const __m256 qd = _mm256_loadu_ps(q + d);
#pragma GCC unroll 8
    for (int j = 0; j < count; ++j)
      acc[j] = _mm256_fmadd_ps(qd, _mm256_loadu_ps(k0 + size_t(j) * HS + d), acc[j]);
  }
  if (main < HS)
    for (int j = 0; j < count; ++j)
      acc[j] =
          _mm256_fmadd_ps(q_tail, _mm256_maskload_ps(k0 + size_t(j) * HS + main, tail), acc[j]);
}

// o = fma(p_j, v_j, o) for the block's keys j < nb in order, each chunk of o
// kept in a register across the keys.
template <int NB>
GPT2_TARGET_AVX2 __attribute__((always_inline)) inline void block_values(const float* pj,
                                                                         const float* v0, int HS,
                                                                         int main, int nb,
                                                                         float* o) {
  const int count = NB ? NB : nb;
  for (int d = 0; d < main; d += 8) {
    __m256 od = _mm256_loadu_ps(o + d);
#pragma GCC unroll 8
    for (int j = 0; j < count; ++j)
      od = _mm256_fmadd_ps(_mm256_set1_ps(pj[j]), _mm256_loadu_ps(v0 + size_t(j) * HS + d), od);
    _mm256_storeu_ps(o + d, od);
  }
  for (int d = main; d < HS; ++d)
    for (int j = 0; j < count; ++j) o[d] = std::fma(pj[j], v0[size_t(j) * HS + d], o[d]);
}

GPT2_TARGET_AVX2 void attend_avx2(const float* q, const float* keys, const float* values, int n,
                                  int HS, float scale, float* o) {
  const int main = HS / 8 * 8;
  const __m256i tail = first_lanes(HS - main);
  const __m256 q_tail = _mm256_maskload_ps(q + main, tail);  // zero past HS
  float m = kMinusInf, l = 0.0f;
  for (int d = 0; d < HS; ++d) o[d] = 0.0f;
  for (int j0 = 0; j0 < n; j0 += kBlock) {
    const int nb = std::min(kBlock, n - j0);
    __m256 acc[kBlock];
    if (nb == kBlock) {
      block_dots<kBlock>(q, q_tail, keys + size_t(j0) * HS, HS, main, tail, kBlock, acc);
    } else {
      block_dots<0>(q, q_tail, keys + size_t(j0) * HS, HS, main, tail, nb, acc);
    }
    const __m256 valid = _mm256_castsi256_ps(first_lanes(nb));
    const __m256 s = _mm256_blendv_ps(_mm256_set1_ps(kMinusInf),
                                      _mm256_mul_ps(reduce8(acc), _mm256_set1_ps(scale)), valid);
    // Block max by the scalar path's tree.
    const __m128 t = _mm_max_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    const __m128 t2 = _mm_max_ps(t, _mm_movehl_ps(t, t));  // max(t0,t2), max(t1,t3)
    const float block_max = _mm_cvtss_f32(_mm_max_ss(t2, _mm_movehdup_ps(t2)));
    const float m_new = max_like_simd(block_max, m);
    if (m_new > m) {
      const float c = exp_f32(m - m_new);
      l *= c;
      const __m256 cv = _mm256_set1_ps(c);
      for (int d = 0; d < main; d += 8)
        _mm256_storeu_ps(o + d, _mm256_mul_ps(_mm256_loadu_ps(o + d), cv));
      for (int d = main; d < HS; ++d) o[d] *= c;
      m = m_new;
    }
    const __m256 p = _mm256_and_ps(exp_avx2(_mm256_sub_ps(s, _mm256_set1_ps(m))), valid);
    const __m128 u = _mm_add_ps(_mm256_castps256_ps128(p), _mm256_extractf128_ps(p, 1));
    const __m128 u2 = _mm_add_ps(u, _mm_movehl_ps(u, u));  // (p0+p4)+(p2+p6), (p1+p5)+(p3+p7)
    l += _mm_cvtss_f32(_mm_add_ss(u2, _mm_movehdup_ps(u2)));
    alignas(32) float pj[kBlock];
    _mm256_store_ps(pj, p);
    if (nb == kBlock) {
      block_values<kBlock>(pj, values + size_t(j0) * HS, HS, main, kBlock, o);
    } else {
      block_values<0>(pj, values + size_t(j0) * HS, HS, main, nb, o);
    }
  }
  for (int d = 0; d < HS; ++d) o[d] /= l;
}
#endif
}  // namespace

void attend_online_softmax(const float* q, const float* keys, const float* values, int n, int HS,
                           float scale, float* out) {
#ifdef GPT2_HAVE_X86
  if (has_avx2(simd_in_use())) return attend_avx2(q, keys, values, n, HS, scale, out);
#endif
  attend_scalar(q, keys, values, n, HS, scale, out);
}

}  // namespace gpt2::optimized
