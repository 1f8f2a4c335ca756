#include "optimized/gelu.h"

#include <bit>
#include <cmath>
#include <cstdint>

#include "optimized/cpu_features.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define GPT2_HAVE_X86 1
#endif

namespace gpt2::optimized {

namespace {
// sqrt(2/π) and the cubic coefficient of gelu_new, as float.
constexpr float kGeluScale = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;
// Cephes tanhf polynomial, |y| < 0.625.
constexpr float kT4 = -5.70498872745e-3f, kT3 = 2.06390887954e-2f, kT2 = -5.37397155531e-2f,
                kT1 = 1.33314422036e-1f, kT0 = -3.33332819422e-1f;
// Cephes expf: ln 2 split in two (C1 exact in 9 bits), polynomial on the remainder.
constexpr float kLog2e = 1.44269504088896341f, kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
constexpr float kE5 = 1.9875691500e-4f, kE4 = 1.3981999507e-3f, kE3 = 8.3334519073e-3f,
                kE2 = 4.1665795894e-2f, kE1 = 1.6666665459e-1f, kE0 = 5.0000001201e-1f;
constexpr float kSmall = 0.625f, kClamp = 10.0f;

float exp_scalar(float x) {  // x in [0, 20]
  const float n = std::nearbyint(x * kLog2e);
  float r = std::fma(-n, kC1, x);
  r = std::fma(-n, kC2, r);
  float p = std::fma(kE5, r, kE4);
  p = std::fma(p, r, kE3);
  p = std::fma(p, r, kE2);
  p = std::fma(p, r, kE1);
  p = std::fma(p, r, kE0);
  p = std::fma(p, r * r, r) + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return p * scale;
}

#ifdef GPT2_HAVE_X86
__attribute__((target("avx2,fma"))) __m256 tanh_avx2(__m256 y) {
  const __m256 sign_mask = _mm256_set1_ps(-0.0f);
  const __m256 a = _mm256_andnot_ps(sign_mask, y);  // |y|
  // Small branch.
  const __m256 z = _mm256_mul_ps(y, y);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kT4), z, _mm256_set1_ps(kT3));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT2));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT1));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(kT0));
  const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), y, y);
  // Large branch: exp(2|y|).
  const __m256 x = _mm256_mul_ps(_mm256_min_ps(a, _mm256_set1_ps(kClamp)), _mm256_set1_ps(2.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC1), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC2), r);
  __m256 e = _mm256_fmadd_ps(_mm256_set1_ps(kE5), r, _mm256_set1_ps(kE4));
  e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(kE3));
  e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(kE2));
  e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(kE1));
  e = _mm256_fmadd_ps(e, r, _mm256_set1_ps(kE0));
  e = _mm256_add_ps(_mm256_fmadd_ps(e, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  e = _mm256_mul_ps(e, _mm256_castsi256_ps(bits));
  const __m256 q = _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
  __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), q);
  large = _mm256_or_ps(large, _mm256_and_ps(sign_mask, y));  // copysign
  const __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(kSmall), _CMP_LT_OQ);
  return _mm256_blendv_ps(large, small, is_small);
}

__attribute__((target("avx2,fma"))) void gelu_avx2(const float* in, float* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(in + i);
    const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
    const __m256 inner =
        _mm256_mul_ps(_mm256_set1_ps(kGeluScale),
                      _mm256_add_ps(v, _mm256_mul_ps(_mm256_set1_ps(kGeluCubic), v3)));
    const __m256 t = tanh_avx2(inner);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                                            _mm256_add_ps(_mm256_set1_ps(1.0f), t)));
  }
  for (; i < n; ++i) out[i] = gelu_tanh_f32(in[i]);
}
#endif
}  // namespace

float tanh_f32(float y) {
  const float a = std::fabs(y);
  if (a < kSmall) {
    const float z = y * y;
    float p = std::fma(kT4, z, kT3);
    p = std::fma(p, z, kT2);
    p = std::fma(p, z, kT1);
    p = std::fma(p, z, kT0);
    return std::fma(p * z, y, y);
  }
  const float e = exp_scalar(std::fmin(a, kClamp) * 2.0f);
  return std::copysign(1.0f - 2.0f / (e + 1.0f), y);
}

float gelu_tanh_f32(float v) {
  const float v3 = (v * v) * v;
  const float t = tanh_f32(kGeluScale * (v + kGeluCubic * v3));
  return (0.5f * v) * (1.0f + t);
}

void gelu_tanh_array(const float* in, float* out, size_t n) {
#ifdef GPT2_HAVE_X86
  if (simd_in_use() == Simd::avx2_fma) return gelu_avx2(in, out, n);
#endif
  for (size_t i = 0; i < n; ++i) out[i] = gelu_tanh_f32(in[i]);
}

}  // namespace gpt2::optimized
