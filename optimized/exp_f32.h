// exp for the `fast` and `bf16` kernels (GELU's tanh, the attention softmax),
// written once as a sequence of float operations that the scalar, AVX2+FMA
// and AVX-512 paths perform identically, so all give the same bits.
//
// Cephes expf: x is clamped to [-87, 88] (so 2^n stays a normal float: below
// -87 the result is about 1.6e-38 instead of a smaller number or 0, which no
// caller can tell from 0 next to a sum that holds a 1), n = round(x·log2 e),
// r = x - n·ln 2 with ln 2 split in two (C1 exact in 9 bits), a degree-6
// polynomial on r in [-ln2/2, ln2/2], times 2^n built from its exponent bits.
// A NaN argument gives NaN (the clamp would otherwise turn it into exp(88)).
// Cephes gives a peak relative error of 1.0e-7 (under 2 float ULP); gelu_test
// measures the worst over a dense sweep (0.99 ULP) and prints it.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>

#include "optimized/cpu_features.h"

#ifdef GPT2_HAVE_X86
#include <immintrin.h>
#endif

namespace gpt2::optimized {

namespace exp_detail {
constexpr float kMin = -87.0f, kMax = 88.0f;
constexpr float kLog2e = 1.44269504088896341f, kC1 = 0.693359375f, kC2 = -2.12194440e-4f;
constexpr float kE5 = 1.9875691500e-4f, kE4 = 1.3981999507e-3f, kE3 = 8.3334519073e-3f,
                kE2 = 4.1665795894e-2f, kE1 = 1.6666665459e-1f, kE0 = 5.0000001201e-1f;
}  // namespace exp_detail

// The scalar twin of _mm256_min_ps / _mm256_max_ps (b when either is NaN).
inline float min_like_simd(float a, float b) { return a < b ? a : b; }
inline float max_like_simd(float a, float b) { return a > b ? a : b; }

inline float exp_f32(float x_in) {
  using namespace exp_detail;
  const float x = max_like_simd(min_like_simd(x_in, kMax), kMin);
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
  return x_in != x_in ? x_in : p * scale;
}

#ifdef GPT2_HAVE_X86
GPT2_TARGET_AVX2 inline __m256 exp_avx2(__m256 x_in) {
  using namespace exp_detail;
  const __m256 x = _mm256_max_ps(_mm256_min_ps(x_in, _mm256_set1_ps(kMax)), _mm256_set1_ps(kMin));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC1), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kC2), r);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kE5), r, _mm256_set1_ps(kE4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kE0));
  p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_blendv_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)), x_in,
                          _mm256_cmp_ps(x_in, x_in, _CMP_UNORD_Q));
}

// exp_avx2's operations on 16 lanes (min/max return their second operand
// for a NaN, as the 256-bit forms do; roundscale 0 is round to nearest even).
// GCC 12 warns, wrongly, of the _mm512_undefined_*() that its own unmasked
// AVX-512 intrinsics pass as the (ignored) merge source (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
GPT2_TARGET_AVX512 inline __m512 exp_avx512(__m512 x_in) {
  using namespace exp_detail;
  const __m512 x = _mm512_max_ps(_mm512_min_ps(x_in, _mm512_set1_ps(kMax)), _mm512_set1_ps(kMin));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kC1), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kC2), r);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kE5), r, _mm512_set1_ps(kE4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kE0));
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
  const __m512i bits =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x_in, x_in, _CMP_UNORD_Q),
                              _mm512_mul_ps(p, _mm512_castsi512_ps(bits)), x_in);
}
#pragma GCC diagnostic pop
#endif

}  // namespace gpt2::optimized
