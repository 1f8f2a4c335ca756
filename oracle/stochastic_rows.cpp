// The vectorised row of StochasticFloat (declared in oracle/stochastic_float.h):
// acc[j] = round(acc[j] + round(x·w[j])) lane by lane, where each round is
// StochasticFloat::round: the exact double result, its nearest float, and
// the neighbour on the other side taken when the hash of (seed, op, a, b)
// has its top bit clear. Every lane computes exactly what the scalar
// operators compute, so the paths give the same bits
// (oracle/stochastic_rows_test.cpp) and a stochastic run stays reproducible
// on any x86-64 CPU. Built with -ffp-contract=off (oracle/CMakeLists.txt):
// the product must stay a product, rounded, before the sum.
#include <immintrin.h>

#include <cstring>
#include <string>
#include <type_traits>

#include "model/init.h"
#include "optimized/cpu_features.h"
#include "oracle/stochastic_float.h"
#include "oracle/stochastic_rows.h"

namespace gpt2::oracle {

namespace {

static_assert(sizeof(StochasticFloat) == sizeof(float) &&
                  std::is_standard_layout_v<StochasticFloat>,
              "a row of StochasticFloat is a row of floats");

// mix64's constants (model/init.h).
constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
constexpr uint64_t kMix1 = 0xbf58476d1ce4e5b9ull;
constexpr uint64_t kMix2 = 0x94d049bb133111ebull;
// round's per-operation constant.
constexpr uint64_t kOpMultiplier = 0xd6e8feb86659fd93ull;

void row_scalar(StochasticFloat* acc, StochasticFloat x, const float* w, int n) {
  for (int j = 0; j < n; ++j) acc[j] = acc[j] + x * StochasticFloat(w[j]);
}

// ---- AVX-512: 8 columns -----------------------------------------------------------

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))) inline __m256 round8(__m512d exact,
                                                                                   uint64_t seed_op,
                                                                                   __m256 a,
                                                                                   __m256 b) {
  const __m256 nearest = _mm512_cvtpd_ps(exact);
  const __m512d nearest_d = _mm512_cvtps_pd(nearest);
  const __m256i near_bits = _mm256_castps_si256(nearest);
  const __mmask8 away =
      _mm512_cmp_pd_mask(_mm512_abs_pd(exact), _mm512_abs_pd(nearest_d), _CMP_GT_OQ);
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i other_bits = _mm256_mask_blend_epi32(away, _mm256_sub_epi32(near_bits, one),
                                                     _mm256_add_epi32(near_bits, one));
  const __m512i key =
      _mm512_or_si512(_mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm256_castps_si256(a)), 32),
                      _mm512_cvtepu32_epi64(_mm256_castps_si256(b)));
  __m512i z = _mm512_add_epi64(_mm512_xor_si512(key, _mm512_set1_epi64(int64_t(seed_op))),
                               _mm512_set1_epi64(int64_t(kGolden)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                         _mm512_set1_epi64(int64_t(kMix1)));
  z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                         _mm512_set1_epi64(int64_t(kMix2)));
  z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
  const __mmask8 top_bit = _mm512_movepi64_mask(z);
  const __mmask8 inexact = _mm512_cmp_pd_mask(nearest_d, exact, _CMP_NEQ_UQ);
  const __mmask8 take_other = inexact & static_cast<__mmask8>(~top_bit);
  __m256i bits = _mm256_mask_blend_epi32(take_other, near_bits, other_bits);
  // Not finite (±inf, NaN): the nearest itself, as round returns early.
  const __mmask8 not_finite = _mm256_fpclass_ps_mask(nearest, 0x01 | 0x08 | 0x10 | 0x80);
  bits = _mm256_mask_blend_epi32(not_finite, bits, near_bits);
  return _mm256_castsi256_ps(bits);
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))) void row_avx512(StochasticFloat* acc,
                                                                              StochasticFloat x,
                                                                              const float* w,
                                                                              int n) {
  const uint64_t seed = StochasticFloat::session_seed();
  const uint64_t seed_mul = seed ^ (uint64_t{StochasticFloat::kMultiply} * kOpMultiplier);
  const uint64_t seed_add = seed ^ (uint64_t{StochasticFloat::kAdd} * kOpMultiplier);
  const __m256 xv = _mm256_set1_ps(x.value());
  const __m512d xd = _mm512_set1_pd(x.value());
  float* a = reinterpret_cast<float*>(acc);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 wv = _mm256_loadu_ps(w + j);
    const __m256 p = round8(_mm512_mul_pd(xd, _mm512_cvtps_pd(wv)), seed_mul, xv, wv);
    const __m256 av = _mm256_loadu_ps(a + j);
    const __m256 s =
        round8(_mm512_add_pd(_mm512_cvtps_pd(av), _mm512_cvtps_pd(p)), seed_add, av, p);
    _mm256_storeu_ps(a + j, s);
  }
  row_scalar(acc + j, x, w + j, n - j);
  // Clean upper register halves before returning to baseline (SSE) code: on
  // Intel cores dirty ones slow every later SSE instruction (measured: the
  // ensemble's float32 members ran 2x slower without this). GCC does not
  // insert it in target("avx512f") functions here.
  _mm256_zeroupper();
}

// ---- AVX2: 4 columns --------------------------------------------------------------

// The low 64 bits of a·b per lane (AVX2 has no 64-bit multiply).
__attribute__((target("avx2,fma"))) inline __m256i mullo64(__m256i a, uint64_t b) {
  const __m256i bv = _mm256_set1_epi64x(int64_t(b));
  const __m256i low = _mm256_mul_epu32(a, bv);
  const __m256i cross = _mm256_add_epi64(_mm256_mul_epu32(_mm256_srli_epi64(a, 32), bv),
                                         _mm256_mul_epu32(a, _mm256_srli_epi64(bv, 32)));
  return _mm256_add_epi64(low, _mm256_slli_epi64(cross, 32));
}

// The low 32 bits of each 64-bit lane, as four 32-bit lanes.
__attribute__((target("avx2,fma"))) inline __m128i low_halves(__m256i v) {
  const __m256i picked = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
  return _mm256_castsi256_si128(picked);
}

__attribute__((target("avx2,fma"))) inline __m128 round4(__m256d exact, uint64_t seed_op, __m128 a,
                                                         __m128 b) {
  const __m128 nearest = _mm256_cvtpd_ps(exact);
  const __m256d nearest_d = _mm256_cvtps_pd(nearest);
  const __m128i near_bits = _mm_castps_si128(nearest);
  const __m256d sign = _mm256_set1_pd(-0.0);
  const __m128i away = low_halves(_mm256_castpd_si256(
      _mm256_cmp_pd(_mm256_andnot_pd(sign, exact), _mm256_andnot_pd(sign, nearest_d), _CMP_GT_OQ)));
  // away is -1 or 0: near - 1 - 2·away is near + 1 or near - 1.
  const __m128i other_bits =
      _mm_sub_epi32(_mm_sub_epi32(near_bits, _mm_set1_epi32(1)), _mm_slli_epi32(away, 1));
  const __m256i key =
      _mm256_or_si256(_mm256_slli_epi64(_mm256_cvtepu32_epi64(_mm_castps_si128(a)), 32),
                      _mm256_cvtepu32_epi64(_mm_castps_si128(b)));
  __m256i z = _mm256_add_epi64(_mm256_xor_si256(key, _mm256_set1_epi64x(int64_t(seed_op))),
                               _mm256_set1_epi64x(int64_t(kGolden)));
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 30)), kMix1);
  z = mullo64(_mm256_xor_si256(z, _mm256_srli_epi64(z, 27)), kMix2);
  z = _mm256_xor_si256(z, _mm256_srli_epi64(z, 31));
  const __m256i top_bit = _mm256_cmpgt_epi64(_mm256_setzero_si256(), z);
  const __m256i inexact = _mm256_castpd_si256(_mm256_cmp_pd(nearest_d, exact, _CMP_NEQ_UQ));
  const __m128i take_other = low_halves(_mm256_andnot_si256(top_bit, inexact));
  __m128i bits = _mm_blendv_epi8(near_bits, other_bits, take_other);
  const __m128i exponent = _mm_set1_epi32(0x7f800000);
  const __m128i not_finite = _mm_cmpeq_epi32(_mm_and_si128(near_bits, exponent), exponent);
  bits = _mm_blendv_epi8(bits, near_bits, not_finite);
  return _mm_castsi128_ps(bits);
}

__attribute__((target("avx2,fma"))) void row_avx2(StochasticFloat* acc, StochasticFloat x,
                                                  const float* w, int n) {
  const uint64_t seed = StochasticFloat::session_seed();
  const uint64_t seed_mul = seed ^ (uint64_t{StochasticFloat::kMultiply} * kOpMultiplier);
  const uint64_t seed_add = seed ^ (uint64_t{StochasticFloat::kAdd} * kOpMultiplier);
  const __m128 xv = _mm_set1_ps(x.value());
  const __m256d xd = _mm256_set1_pd(x.value());
  float* a = reinterpret_cast<float*>(acc);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m128 wv = _mm_loadu_ps(w + j);
    const __m128 p = round4(_mm256_mul_pd(xd, _mm256_cvtps_pd(wv)), seed_mul, xv, wv);
    const __m128 av = _mm_loadu_ps(a + j);
    const __m128 s =
        round4(_mm256_add_pd(_mm256_cvtps_pd(av), _mm256_cvtps_pd(p)), seed_add, av, p);
    _mm_storeu_ps(a + j, s);
  }
  row_scalar(acc + j, x, w + j, n - j);
  _mm256_zeroupper();  // as in row_avx512
}

enum class Path { scalar, avx2, avx512 };

Path widest() {  // optimized/cpu_features.h: its avx512 is f, bw, vl and dq
  if (optimized::cpu_supports(optimized::Simd::avx512)) return Path::avx512;
  if (optimized::cpu_supports(optimized::Simd::avx2_fma)) return Path::avx2;
  return Path::scalar;
}

Path& chosen() {
  static Path path = widest();
  return path;
}

}  // namespace

void stochastic_multiply_add_row(StochasticFloat* acc, StochasticFloat x, const float* w, int n) {
  switch (chosen()) {
    case Path::avx512:
      return row_avx512(acc, x, w, n);
    case Path::avx2:
      return row_avx2(acc, x, w, n);
    case Path::scalar:
      return row_scalar(acc, x, w, n);
  }
}

namespace testing {

std::vector<std::string> stochastic_row_paths() {
  std::vector<std::string> out = {"scalar"};
  const Path w = widest();
  if (w == Path::avx2 || w == Path::avx512) out.push_back("avx2");
  if (w == Path::avx512) out.push_back("avx512");
  return out;
}

void stochastic_row_on(const std::string& path, StochasticFloat* acc, StochasticFloat x,
                       const float* w, int n) {
  if (path == "avx512") return row_avx512(acc, x, w, n);
  if (path == "avx2") return row_avx2(acc, x, w, n);
  row_scalar(acc, x, w, n);
}

void use_stochastic_row_path(const std::string& path) {
  chosen() = path == "avx512" ? Path::avx512 : path == "avx2" ? Path::avx2 : Path::scalar;
}

}  // namespace testing

}  // namespace gpt2::oracle
