#include "optimized/online_attention.h"

#include <cmath>
#include <limits>

#include "optimized/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define GPT2_HAVE_X86 1
#endif

namespace gpt2::optimized {

namespace {
inline float reduce_lanes(const float* s) {
  return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

float dot_scalar(const float* a, const float* b, int n) {
  float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int main = n / 8 * 8;
  for (int i = 0; i < main; i += 8)
    for (int l = 0; l < 8; ++l) s[l] = std::fma(a[i + l], b[i + l], s[l]);
  for (int i = main; i < n; ++i) s[i - main] = std::fma(a[i], b[i], s[i - main]);
  return reduce_lanes(s);
}

void attend_scalar(const float* q, const float* keys, const float* values, int n, int HS,
                   float scale, float* o) {
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  for (int d = 0; d < HS; ++d) o[d] = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float s = dot_scalar(q, keys + size_t(j) * HS, HS) * scale;
    if (s > m) {
      const float corr = std::exp(m - s);  // 0 on the first key
      l *= corr;
      for (int d = 0; d < HS; ++d) o[d] *= corr;
      m = s;
    }
    const float p = std::exp(s - m);
    l += p;
    const float* v = values + size_t(j) * HS;
    for (int d = 0; d < HS; ++d) o[d] = std::fma(p, v[d], o[d]);
  }
  for (int d = 0; d < HS; ++d) o[d] /= l;
}

#ifdef GPT2_HAVE_X86
__attribute__((target("avx2,fma"), always_inline)) inline float dot_avx2(const float* a,
                                                                         const float* b, int n) {
  __m256 acc = _mm256_setzero_ps();
  const int main = n / 8 * 8;
  for (int i = 0; i < main; i += 8)
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  alignas(32) float s[8];
  _mm256_store_ps(s, acc);
  for (int i = main; i < n; ++i) s[i - main] = std::fma(a[i], b[i], s[i - main]);
  return reduce_lanes(s);
}

__attribute__((target("avx2,fma"))) void attend_avx2(const float* q, const float* keys,
                                                     const float* values, int n, int HS,
                                                     float scale, float* o) {
  float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
  const int main = HS / 8 * 8;
  for (int d = 0; d < HS; ++d) o[d] = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float s = dot_avx2(q, keys + size_t(j) * HS, HS) * scale;
    if (s > m) {
      const float corr = std::exp(m - s);
      l *= corr;
      const __m256 c = _mm256_set1_ps(corr);
      for (int d = 0; d < main; d += 8)
        _mm256_storeu_ps(o + d, _mm256_mul_ps(_mm256_loadu_ps(o + d), c));
      for (int d = main; d < HS; ++d) o[d] *= corr;
      m = s;
    }
    const float p = std::exp(s - m);
    l += p;
    const float* v = values + size_t(j) * HS;
    const __m256 pv = _mm256_set1_ps(p);
    for (int d = 0; d < main; d += 8)
      _mm256_storeu_ps(o + d, _mm256_fmadd_ps(pv, _mm256_loadu_ps(v + d), _mm256_loadu_ps(o + d)));
    for (int d = main; d < HS; ++d) o[d] = std::fma(p, v[d], o[d]);
  }
  for (int d = 0; d < HS; ++d) o[d] /= l;
}
__attribute__((target("avx2,fma"))) float dot_avx2_call(const float* a, const float* b, int n) {
  return dot_avx2(a, b, n);
}
#endif
}  // namespace

float dot_lanes8(const float* a, const float* b, int n) {
#ifdef GPT2_HAVE_X86
  if (simd_in_use() == Simd::avx2_fma) return dot_avx2_call(a, b, n);
#endif
  return dot_scalar(a, b, n);
}

void attend_online_softmax(const float* q, const float* keys, const float* values, int n, int HS,
                           float scale, float* out) {
#ifdef GPT2_HAVE_X86
  if (simd_in_use() == Simd::avx2_fma) return attend_avx2(q, keys, values, n, HS, scale, out);
#endif
  attend_scalar(q, keys, values, n, HS, scale, out);
}

}  // namespace gpt2::optimized
