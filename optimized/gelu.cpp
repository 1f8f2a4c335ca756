#include "optimized/gelu.h"

#include <cmath>
#include <cstdint>

#include "optimized/cpu_features.h"
#include "optimized/exp_f32.h"

#ifdef GPT2_HAVE_X86
#include <immintrin.h>
#endif

namespace gpt2::optimized {

namespace {
// sqrt(2/π) and the cubic coefficient of gelu_new, as float.
constexpr float kGeluScale = 0.7978845608028654f;
constexpr float kGeluCubic = 0.044715f;
// Cephes tanhf polynomial, |y| < 0.625.
constexpr float kT4 = -5.70498872745e-3f, kT3 = 2.06390887954e-2f, kT2 = -5.37397155531e-2f,
                kT1 = 1.33314422036e-1f, kT0 = -3.33332819422e-1f;
constexpr float kSmall = 0.625f, kClamp = 10.0f;

#ifdef GPT2_HAVE_X86
GPT2_TARGET_AVX2 __m256 tanh_avx2(__m256 y) {
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
  const __m256 e = exp_avx2(x);
  const __m256 q = _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
  __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), q);
  large = _mm256_or_ps(large, _mm256_and_ps(sign_mask, y));  // copysign
  const __m256 is_small = _mm256_cmp_ps(a, _mm256_set1_ps(kSmall), _CMP_LT_OQ);
  return _mm256_blendv_ps(large, small, is_small);
}

GPT2_TARGET_AVX2 void gelu_avx2(const float* in, float* out, size_t n) {
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

// tanh_avx2 and gelu_avx2 on 16 lanes, the tail under a mask. (The pragmas:
// GCC 12's false warning on its own intrinsics, see exp_avx512.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
GPT2_TARGET_AVX512 __m512 tanh_avx512(__m512 y) {
  const __m512 sign_mask = _mm512_set1_ps(-0.0f);
  const __m512 a = _mm512_andnot_ps(sign_mask, y);  // |y|
  const __m512 z = _mm512_mul_ps(y, y);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kT4), z, _mm512_set1_ps(kT3));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT2));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT1));
  p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(kT0));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), y, y);
  const __m512 x = _mm512_mul_ps(_mm512_min_ps(a, _mm512_set1_ps(kClamp)), _mm512_set1_ps(2.0f));
  const __m512 e = exp_avx512(x);
  const __m512 q = _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
  __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), q);
  large = _mm512_or_ps(large, _mm512_and_ps(sign_mask, y));  // copysign
  const __mmask16 is_small = _mm512_cmp_ps_mask(a, _mm512_set1_ps(kSmall), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(is_small, large, small);
}

GPT2_TARGET_AVX512 void gelu_avx512(const float* in, float* out, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, in + i);
    const __m512 v3 = _mm512_mul_ps(_mm512_mul_ps(v, v), v);
    const __m512 inner =
        _mm512_mul_ps(_mm512_set1_ps(kGeluScale),
                      _mm512_add_ps(v, _mm512_mul_ps(_mm512_set1_ps(kGeluCubic), v3)));
    const __m512 t = tanh_avx512(inner);
    _mm512_mask_storeu_ps(out + i, m,
                          _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                                        _mm512_add_ps(_mm512_set1_ps(1.0f), t)));
  }
}
#pragma GCC diagnostic pop
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
  const float e = exp_f32(min_like_simd(a, kClamp) * 2.0f);
  return std::copysign(1.0f - 2.0f / (e + 1.0f), y);
}

float gelu_tanh_f32(float v) {
  const float v3 = (v * v) * v;
  const float t = tanh_f32(kGeluScale * (v + kGeluCubic * v3));
  return (0.5f * v) * (1.0f + t);
}

void gelu_tanh_array(const float* in, float* out, size_t n) {
#ifdef GPT2_HAVE_X86
  switch (simd_in_use()) {
    case Simd::avx512:
      return gelu_avx512(in, out, n);
    case Simd::avx2_fma:
      return gelu_avx2(in, out, n);
    case Simd::scalar:
      break;
  }
#endif
  for (size_t i = 0; i < n; ++i) out[i] = gelu_tanh_f32(in[i]);
}

}  // namespace gpt2::optimized
