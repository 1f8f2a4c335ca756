#include "reference/dd_kernels.h"

#include <immintrin.h>

#include <atomic>

#include "model/error.h"

namespace gpt2::reference {

namespace {

// One element: (h, l) + x·w, exactly as MultiplyAdd<DoubleDouble> computes it.
inline void multiply_add_one(double& h, double& l, const DoubleDouble& x, double w) {
  const DoubleDouble sum = DoubleDouble(h, l) + times_double(x, w);
  h = sum.hi;
  l = sum.lo;
}

void row_scalar(double* hi, double* lo, const DoubleDouble& x, const double* w, int n) {
  for (int j = 0; j < n; ++j) multiply_add_one(hi[j], lo[j], x, w[j]);
}

// The AVX2 and AVX-512 twins of the scalar loop: the same operations, lane
// by lane, in the same order (TwoProd's remainder is fmsub, DWTimesFP3's
// fma is fmadd; the library is built with -ffp-contract=off).
__attribute__((target("avx2,fma"))) void row_avx2(double* hi, double* lo, const DoubleDouble& x,
                                                  const double* w, int n) {
  const __m256d xh = _mm256_set1_pd(x.hi), xl = _mm256_set1_pd(x.lo);
  int j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m256d wj = _mm256_loadu_pd(w + j);
    // times_double: (p, e) = TwoProd(xh, w); cl3 = fma(xl, w, e); Fast2Sum(p, cl3)
    const __m256d p = _mm256_mul_pd(xh, wj);
    const __m256d e = _mm256_fmsub_pd(xh, wj, p);
    const __m256d cl3 = _mm256_fmadd_pd(xl, wj, e);
    const __m256d th = _mm256_add_pd(p, cl3);
    const __m256d tl = _mm256_sub_pd(cl3, _mm256_sub_pd(th, p));
    // AccurateDWPlusDW of (ah, al) and (th, tl)
    const __m256d ah = _mm256_loadu_pd(hi + j), al = _mm256_loadu_pd(lo + j);
    const __m256d sh = _mm256_add_pd(ah, th);
    const __m256d sb = _mm256_sub_pd(sh, ah);
    const __m256d sl =
        _mm256_add_pd(_mm256_sub_pd(ah, _mm256_sub_pd(sh, sb)), _mm256_sub_pd(th, sb));
    const __m256d uh = _mm256_add_pd(al, tl);
    const __m256d ub = _mm256_sub_pd(uh, al);
    const __m256d ul =
        _mm256_add_pd(_mm256_sub_pd(al, _mm256_sub_pd(uh, ub)), _mm256_sub_pd(tl, ub));
    const __m256d c = _mm256_add_pd(sl, uh);
    const __m256d vh = _mm256_add_pd(sh, c);
    const __m256d vl = _mm256_sub_pd(c, _mm256_sub_pd(vh, sh));
    const __m256d wsum = _mm256_add_pd(ul, vl);
    const __m256d zh = _mm256_add_pd(vh, wsum);
    const __m256d zl = _mm256_sub_pd(wsum, _mm256_sub_pd(zh, vh));
    _mm256_storeu_pd(hi + j, zh);
    _mm256_storeu_pd(lo + j, zl);
  }
  for (; j < n; ++j) multiply_add_one(hi[j], lo[j], x, w[j]);
  // Clean upper register halves before returning to baseline (SSE) code:
  // dirty ones slow every later SSE instruction on Intel cores.
  _mm256_zeroupper();
}

__attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))) void row_avx512(
    double* hi, double* lo, const DoubleDouble& x, const double* w, int n) {
  const __m512d xh = _mm512_set1_pd(x.hi), xl = _mm512_set1_pd(x.lo);
  int j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m512d wj = _mm512_loadu_pd(w + j);
    const __m512d p = _mm512_mul_pd(xh, wj);
    const __m512d e = _mm512_fmsub_pd(xh, wj, p);
    const __m512d cl3 = _mm512_fmadd_pd(xl, wj, e);
    const __m512d th = _mm512_add_pd(p, cl3);
    const __m512d tl = _mm512_sub_pd(cl3, _mm512_sub_pd(th, p));
    const __m512d ah = _mm512_loadu_pd(hi + j), al = _mm512_loadu_pd(lo + j);
    const __m512d sh = _mm512_add_pd(ah, th);
    const __m512d sb = _mm512_sub_pd(sh, ah);
    const __m512d sl =
        _mm512_add_pd(_mm512_sub_pd(ah, _mm512_sub_pd(sh, sb)), _mm512_sub_pd(th, sb));
    const __m512d uh = _mm512_add_pd(al, tl);
    const __m512d ub = _mm512_sub_pd(uh, al);
    const __m512d ul =
        _mm512_add_pd(_mm512_sub_pd(al, _mm512_sub_pd(uh, ub)), _mm512_sub_pd(tl, ub));
    const __m512d c = _mm512_add_pd(sl, uh);
    const __m512d vh = _mm512_add_pd(sh, c);
    const __m512d vl = _mm512_sub_pd(c, _mm512_sub_pd(vh, sh));
    const __m512d wsum = _mm512_add_pd(ul, vl);
    const __m512d zh = _mm512_add_pd(vh, wsum);
    const __m512d zl = _mm512_sub_pd(wsum, _mm512_sub_pd(zh, vh));
    _mm512_storeu_pd(hi + j, zh);
    _mm512_storeu_pd(lo + j, zl);
  }
  for (; j < n; ++j) multiply_add_one(hi[j], lo[j], x, w[j]);
  _mm256_zeroupper();  // as in row_avx2
}

bool supports(DdPath path) {
  __builtin_cpu_init();
  switch (path) {
    case DdPath::scalar:
      return true;
    case DdPath::avx2_fma:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case DdPath::avx512:
      return supports(DdPath::avx2_fma) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
  }
  return false;
}

DdPath widest() {
  for (DdPath p : {DdPath::avx512, DdPath::avx2_fma})
    if (supports(p)) return p;
  return DdPath::scalar;
}

std::atomic<DdPath>& chosen() {
  static std::atomic<DdPath> path{widest()};
  return path;
}

}  // namespace

const char* dd_path_name(DdPath path) {
  switch (path) {
    case DdPath::scalar:
      return "scalar";
    case DdPath::avx2_fma:
      return "avx2+fma";
    case DdPath::avx512:
      return "avx512";
  }
  return "?";
}

std::vector<DdPath> dd_paths_supported() {
  std::vector<DdPath> out;
  for (DdPath p : {DdPath::scalar, DdPath::avx2_fma, DdPath::avx512})
    if (supports(p)) out.push_back(p);
  return out;
}

DdPath dd_path() { return chosen().load(std::memory_order_relaxed); }

void force_dd_path(DdPath path) {
  GPT2_CHECK(supports(path),
             std::string("this CPU does not run the dd path ") + dd_path_name(path));
  chosen().store(path, std::memory_order_relaxed);
}

void dd_multiply_add_row_on(DdPath path, double* hi, double* lo, const DoubleDouble& x,
                            const double* w, int n) {
  switch (path) {
    case DdPath::avx512:
      return row_avx512(hi, lo, x, w, n);
    case DdPath::avx2_fma:
      return row_avx2(hi, lo, x, w, n);
    case DdPath::scalar:
      return row_scalar(hi, lo, x, w, n);
  }
}

void dd_multiply_add_row(double* hi, double* lo, const DoubleDouble& x, const double* w, int n) {
  dd_multiply_add_row_on(dd_path(), hi, lo, x, w, n);
}

}  // namespace gpt2::reference
