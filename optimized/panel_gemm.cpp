#include "optimized/panel_gemm.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <utility>

#include "model/error.h"
#include "model/safetensors.h"
#include "optimized/cpu_features.h"
#include "optimized/gelu.h"

#ifdef GPT2_HAVE_X86
#include <immintrin.h>
#endif

namespace gpt2::optimized {

namespace {
constexpr int kTileRows = 6;    // AVX2 (and scalar) MR: 6 rows x 1 panel = 12 ymm accumulators
constexpr int kRowBlock = 96;   // rows of x kept hot while the thread walks its panels
constexpr int kGemvPanels = 4;  // panels a decode step streams side by side
// ... and a one-row decode step on the AVX-512 path (8 zmm accumulators, 8
// weight rows): more streams in flight; bf16 steps 3.5% shorter, f32 1.4%
// (gpt2-124m-shape, 2 threads, interleaved with 4 in one process). Batched
// steps keep 4, so that the panels their other rows reuse stay in L2.
constexpr int kGemvPanels512 = 8;
// How far ahead of its loads a decode tile (MR = 1: the weights stream from
// memory, each panel one sequential stream) asks for its panels' rows. The
// hardware prefetcher restarts at every 4 KiB page, and the loads themselves
// run only as far ahead as the out-of-order window, which spans half as many
// bytes of bf16 panels as of f32 ones; a software prefetch 2 KiB ahead keeps
// every panel's stream going across pages. Measured on gpt2-124m-shape, 2
// threads, the variants interleaved in one process: bf16 decode steps 6-8%
// shorter on both the AVX-512 and AVX2 paths (15.1 -> 14.1 ms, with one group
// per chunk), f32 within noise (+/-2%). No arithmetic changes: same bits.
constexpr int kPrefetchBytes = 2048;
template <class B>
constexpr int kPrefetchRows = kPrefetchBytes / int(kPanelWidth * sizeof(B));
// Up to this many rows of x (a batched decode step: one row per sequence),
// streaming the weights from memory sets the pace, not the FMAs: see
// gemm_typed.
constexpr int kStreamedRows = 32;
// AVX-512 prefill tile: kTileRows512 rows x kTilePanels512 panels, one zmm
// accumulator per row and panel (of 32 zmm: 24 accumulators, the panels'
// weight rows and a broadcast of x).
constexpr int kTileRows512 = 8;
constexpr int kTilePanels512 = 3;
static_assert(kTilePanels512 <= kScratchPanels);  // a prefill group is widened into scratch
// The widest group load_bias pads: a streamed group or a prefill tile's.
constexpr int kBiasPanels = std::max({kGemvPanels, kGemvPanels512, kTilePanels512});
constexpr int kTileFloats =
    std::max({kTileRows * kGemvPanels, kTileRows512* kTilePanels512, kGemvPanels512}) * kPanelWidth;

// Panels a step of T <= kStreamedRows rows streams side by side on `simd`.
int streamed_group(Simd simd, int T) {
  return simd == Simd::avx512 && T == 1 ? kGemvPanels512 : kGemvPanels;
}

// Where column j of a 16-column group is stored. f32 panels keep the natural
// order; bf16 panels store columns 4..7 and 8..11 swapped, so that the two
// AVX2 unpacks of 16 stored bf16 values (which interleave within 128-bit
// lanes) yield columns 0..7 and 8..15 directly: one load and two unpacks per
// row instead of two widening loads and two shifts. The order is its own
// inverse.
constexpr int kBf16Slot[kPanelWidth] = {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15};
template <class B>
constexpr int slot(int j) {
  return std::is_same_v<B, uint16_t> ? kBf16Slot[j] : j;
}

inline float widen(float v) { return v; }
// bf16 -> f32 is exact: the 16 bits become the upper half of the float.
inline float widen(uint16_t v) { return std::bit_cast<float>(uint32_t(v) << 16); }

// ---- scalar path: the same fma chains, one element at a time ---------------
template <int MR, int NP, class B>
void tile_scalar(const float* x, int ldx, const B* panel, size_t panel_stride, int K,
                 const float* bias, float* tile) {
  constexpr int W = NP * kPanelWidth;
  float acc[MR][W];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < W; ++j) acc[r][j] = bias[j];
  for (int k = 0; k < K; ++k) {
    for (int p = 0; p < NP; ++p) {
      const B* row = panel + p * panel_stride + size_t(k) * kPanelWidth;
      for (int r = 0; r < MR; ++r) {
        const float a = x[size_t(r) * ldx + k];
        for (int j = 0; j < kPanelWidth; ++j)
          acc[r][p * kPanelWidth + j] =
              std::fma(a, widen(row[slot<B>(j)]), acc[r][p * kPanelWidth + j]);
      }
    }
  }
  std::memcpy(tile, acc, sizeof(acc));
}

#ifdef GPT2_HAVE_X86
// Asks for the panel row kPrefetchRows ahead of `row` (a prefetch never
// faults, so past a panel's end is harmless: it reaches the next panel).
template <class B>
__attribute__((always_inline)) inline void prefetch_row(const B* row) {
  _mm_prefetch(reinterpret_cast<const char*>(row + size_t(kPrefetchRows<B>) * kPanelWidth),
               _MM_HINT_T0);
}

GPT2_TARGET_AVX2 __attribute__((always_inline)) inline void load16(const float* p, __m256& lo,
                                                                   __m256& hi) {
  lo = _mm256_loadu_ps(p);
  hi = _mm256_loadu_ps(p + 8);
}
GPT2_TARGET_AVX2 __attribute__((always_inline)) inline void load16(const uint16_t* p, __m256& lo,
                                                                   __m256& hi) {
  // bf16 -> f32: the 16 bits become the upper half of the float (exact);
  // with the kBf16Slot storage order the unpacks give columns 0..7 and 8..15.
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i zero = _mm256_setzero_si256();
  lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
  hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
}

template <int MR, int NP, class B>
GPT2_TARGET_AVX2 void tile_avx2(const float* x, int ldx, const B* panel, size_t panel_stride, int K,
                                const float* bias, float* tile) {
  __m256 acc[MR][2 * NP];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < 2 * NP; ++j) acc[r][j] = _mm256_loadu_ps(bias + 8 * j);
  static_assert(MR == 1 || NP == 1, "tiles are MR x 16 or 1 x 16·NP");
  for (int k = 0; k < K; ++k) {
    if constexpr (NP == 1) {
      // MR x 16: two weight registers, one broadcast at a time (12 + 3 ymm).
      __m256 w0, w1;
      load16(panel + size_t(k) * kPanelWidth, w0, w1);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m256 a = _mm256_broadcast_ss(x + size_t(r) * ldx + k);
        acc[r][0] = _mm256_fmadd_ps(a, w0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(a, w1, acc[r][1]);
      }
    } else {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) prefetch_row(panel + p * panel_stride + size_t(k) * kPanelWidth);
      // 1 x 16·NP (decode): one broadcast, then each panel's two weight
      // registers used at once, so at most 2·NP + 3 ymm are live (no spill).
      const __m256 a = _mm256_broadcast_ss(x + k);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) {
        __m256 w0, w1;
        load16(panel + p * panel_stride + size_t(k) * kPanelWidth, w0, w1);
        acc[0][2 * p] = _mm256_fmadd_ps(a, w0, acc[0][2 * p]);
        acc[0][2 * p + 1] = _mm256_fmadd_ps(a, w1, acc[0][2 * p + 1]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < 2 * NP; ++j)
      _mm256_storeu_ps(tile + r * NP * kPanelWidth + 8 * j, acc[r][j]);
}

// ---- AVX-512 path: the same fma chains, 16 columns (a panel row) per zmm ---
GPT2_TARGET_AVX512 __attribute__((always_inline)) inline __m512 load16_512(const float* p) {
  return _mm512_loadu_ps(p);
}
// bf16 -> f32 in one permute: word 2j+1 of the result takes the stored word
// of column j (kBf16Slot), word 2j is zeroed, so lane j holds column j's 16
// bits as the upper half of a float (exact) in the natural column order.
alignas(64) constexpr std::array<uint16_t, 32> kWidenBf16Index = [] {
  std::array<uint16_t, 32> idx{};
  for (int j = 0; j < kPanelWidth; ++j) idx[2 * j + 1] = static_cast<uint16_t>(kBf16Slot[j]);
  return idx;
}();
GPT2_TARGET_AVX512 __attribute__((always_inline)) inline __m512 load16_512(const uint16_t* p) {
  const __m512i idx = _mm512_load_si512(kWidenBf16Index.data());
  const __m512i v = _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_maskz_permutexvar_epi16(0xAAAAAAAAu, idx, v));
}

// MR x 16·NP: per k, the NP panels' weight rows are loaded once and each row
// of x is broadcast once; every accumulator is one output's fma chain.
template <int MR, int NP, class B>
GPT2_TARGET_AVX512 void tile_avx512(const float* x, int ldx, const B* panel, size_t panel_stride,
                                    int K, const float* bias, float* tile) {
  __m512 acc[MR][NP];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_loadu_ps(bias + p * kPanelWidth);
  for (int k = 0; k < K; ++k) {
    __m512 w[NP];
    if constexpr (MR == 1) {
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) prefetch_row(panel + p * panel_stride + size_t(k) * kPanelWidth);
    }
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p)
      w[p] = load16_512(panel + p * panel_stride + size_t(k) * kPanelWidth);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 a = _mm512_set1_ps(x[size_t(r) * ldx + k]);
#pragma GCC unroll 8
      for (int p = 0; p < NP; ++p) acc[r][p] = _mm512_fmadd_ps(a, w[p], acc[r][p]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int p = 0; p < NP; ++p) _mm512_storeu_ps(tile + (r * NP + p) * kPanelWidth, acc[r][p]);
}
#endif

// rows panel rows of 16 bf16 (in kBf16Slot order) -> rows x 16 floats in
// column order, exactly, on the path `simd`.
#ifdef GPT2_HAVE_X86
GPT2_TARGET_AVX2 void widen_rows_avx2(const uint16_t* in, size_t rows, float* out) {
  for (size_t i = 0; i < rows * kPanelWidth; i += kPanelWidth) {
    __m256 lo, hi;
    load16(in + i, lo, hi);
    _mm256_storeu_ps(out + i, lo);
    _mm256_storeu_ps(out + i + 8, hi);
  }
}
GPT2_TARGET_AVX512 void widen_rows_avx512(const uint16_t* in, size_t rows, float* out) {
  for (size_t i = 0; i < rows * kPanelWidth; i += kPanelWidth)
    _mm512_storeu_ps(out + i, load16_512(in + i));
}
#endif
void widen_panel_rows(Simd simd, const uint16_t* in, size_t rows, float* out) {
#ifdef GPT2_HAVE_X86
  if (simd == Simd::avx512) return widen_rows_avx512(in, rows, out);
  if (simd == Simd::avx2_fma) return widen_rows_avx2(in, rows, out);
#endif
  for (size_t i = 0; i < rows * kPanelWidth; i += kPanelWidth)
    for (int j = 0; j < kPanelWidth; ++j) out[i + j] = widen(in[i + slot<uint16_t>(j)]);
}

// One MR x 16·NP tile on the path `simd`: tile [MR, NP·16] (row stride NP·16).
template <int MR, int NP, class B>
void tile(Simd simd, const float* x, int ldx, const B* panel, size_t panel_stride, int K,
          const float* bias, float* out) {
#ifdef GPT2_HAVE_X86
  if (simd == Simd::avx512)
    return tile_avx512<MR, NP, B>(x, ldx, panel, panel_stride, K, bias, out);
  if constexpr (MR == 1 || NP == 1)
    if (simd == Simd::avx2_fma)
      return tile_avx2<MR, NP, B>(x, ldx, panel, panel_stride, K, bias, out);
#endif
  tile_scalar<MR, NP, B>(x, ldx, panel, panel_stride, K, bias, out);
}

// tile<mr, np> for run-time mr in 1..MaxRows and np in 1..MaxPanels.
template <int MaxRows, int MaxPanels, class B, int... Rows, int... Panels>
void tile_dispatch(std::integer_sequence<int, Rows...>, std::integer_sequence<int, Panels...>,
                   Simd simd, int mr, int np, const float* x, int ldx, const B* panel,
                   size_t panel_stride, int K, const float* bias, float* out) {
  auto for_panels = [&]<int R>() {
    return ((np == Panels + 1 &&
             (tile<R, Panels + 1, B>(simd, x, ldx, panel, panel_stride, K, bias, out), true)) ||
            ...);
  };
  const bool done = ((mr == Rows + 1 && for_panels.template operator()<Rows + 1>()) || ...);
  GPT2_CHECK(done, "tile shape out of range");
}
template <int MaxRows, int MaxPanels, class B>
void tile_any(Simd simd, int mr, int np, const float* x, int ldx, const B* panel,
              size_t panel_stride, int K, const float* bias, float* out) {
  tile_dispatch<MaxRows, MaxPanels, B>(std::make_integer_sequence<int, MaxRows>{},
                                       std::make_integer_sequence<int, MaxPanels>{}, simd, mr, np,
                                       x, ldx, panel, panel_stride, K, bias, out);
}

// Writes the [rows, width] tile (row stride tile_ld) into y columns n0.. with the epilogue.
void finish(const float* t, int rows, int tile_ld, int n0, int width, float* y, int ldy,
            Epilogue e) {
  for (int r = 0; r < rows; ++r) {
    float* out = y + size_t(r) * ldy + n0;
    const float* in = t + r * tile_ld;
    switch (e) {
      case Epilogue::store:
        std::memcpy(out, in, width * sizeof(float));
        break;
      case Epilogue::accumulate:
        for (int j = 0; j < width; ++j) out[j] += in[j];
        break;
      case Epilogue::gelu_tanh:
        gelu_tanh_array(in, out, width);
        break;
    }
  }
}

// A panel as float32: f32 panels as they are; bf16 panels widened (exactly)
// into scratch [K·16], once, so that the float tiles run on them.
inline const float* widened(const float* panel, size_t, float*) { return panel; }
inline const float* widened(const uint16_t* panel, size_t stride, float* scratch) {
  for (size_t i = 0; i < stride; i += kPanelWidth)
    for (int j = 0; j < kPanelWidth; ++j) scratch[i + j] = widen(panel[i + slot<uint16_t>(j)]);
  return scratch;
}

template <class B>
void gemm_typed(const B* panels, const float* x, int T, int ldx, int K, int N, const float* bias,
                float* y, int ldy, Epilogue e, int p_begin, int p_end, float* scratch) {
  const Simd simd = simd_in_use();
  const size_t stride = size_t(K) * kPanelWidth;  // elements per panel
  alignas(64) float bias_pad[kBiasPanels * kPanelWidth];
  alignas(64) float tile_buf[kTileFloats];
  auto load_bias = [&](int p, int np) {
    for (int j = 0; j < np * kPanelWidth; ++j) {
      const int n = p * kPanelWidth + j;
      bias_pad[j] = (bias && n < N) ? bias[n] : 0.0f;
    }
  };
  auto width_of = [&](int p, int np) {
    return std::min(N, (p + np) * kPanelWidth) - p * kPanelWidth;
  };
  // The np panels from p as float: bf16 panels are widened (exactly) into
  // scratch once and the float tiles run on them, the same products as
  // widening in registers without redoing it for every tile of rows.
  auto float_panels = [&](int p, int np) -> const float* {
    if constexpr (std::is_same_v<B, uint16_t>) {
      widen_panel_rows(simd, panels + p * stride, np * stride / kPanelWidth, scratch);
      return scratch;
    } else {
      return panels + p * stride;
    }
  };

  // Prefill (and the rows after the first of a streamed step): groups of panels (one panel on the
  // AVX2 and scalar paths, kTilePanels512 on AVX-512), each walked by tiles of rows while it stays
  // in cache. f32: in row blocks, so that a block of x stays hot while the thread walks its panels;
  // bf16: every row over a group at once, so that each group is widened once.
  const bool wide = simd == Simd::avx512;
  const int group = wide ? kTilePanels512 : 1, rows = wide ? kTileRows512 : kTileRows;
  auto run_rows = [&](int p, int np, const float* w, int r0, int r1) {
    for (int r = r0; r < r1; r += rows) {
      const int mr = std::min(rows, r1 - r);
      if (wide) {
        tile_any<kTileRows512, kTilePanels512, float>(simd, mr, np, x + size_t(r) * ldx, ldx, w,
                                                      stride, K, bias_pad, tile_buf);
      } else {
        tile_any<kTileRows, 1, float>(simd, mr, 1, x + size_t(r) * ldx, ldx, w, stride, K, bias_pad,
                                      tile_buf);
      }
      finish(tile_buf, mr, np * kPanelWidth, p * kPanelWidth, width_of(p, np), y + size_t(r) * ldy,
             ldy, e);
    }
  };
  if (T <= kStreamedRows) {
    // A decode step (T = 1) or a batched one: the first row streams
    // streamed_group panels side by side from memory; the other rows then
    // reuse those panels from cache, one panel at a time in tiles of rows.
    // (Tiles of rows alone read each panel from memory as one stream: a
    // 16-row step of gpt2-124m-shape spent two thirds of its time in its
    // first tiles.) Every output is still one fma chain in k order: the same
    // bits as any tiling.
    auto stream = [&]<int NP>(int q) {
      load_bias(q, NP);
      tile<1, NP, B>(simd, x, ldx, panels + q * stride, stride, K, bias_pad, tile_buf);
      finish(tile_buf, 1, NP * kPanelWidth, q * kPanelWidth, width_of(q, NP), y, ldy, e);
    };
    const int gemv = streamed_group(simd, T);
    for (int p = p_begin; p < p_end; p += gemv) {
      const int np = std::min(gemv, p_end - p);
      int next = p;  // a short group at the end: by 4 panels, then one at a time
      if (np == kGemvPanels512) stream.template operator()<kGemvPanels512>(next), next += np;
      for (; next + kGemvPanels <= p + np; next += kGemvPanels)
        stream.template operator()<kGemvPanels>(next);
      for (; next < p + np; ++next) stream.template operator()<1>(next);
      for (int q = p; q < p + np && T > 1; ++q) {
        load_bias(q, 1);
        run_rows(q, 1, float_panels(q, 1), 1, T);
      }
    }
    return;
  }
  const int block = std::is_same_v<B, uint16_t> ? T : kRowBlock;
  for (int r0 = 0; r0 < T; r0 += block) {
    const int r1 = std::min(T, r0 + block);
    for (int p = p_begin; p < p_end; p += group) {
      const int np = std::min(group, p_end - p);
      load_bias(p, np);
      run_rows(p, np, float_panels(p, np), r0, r1);
    }
  }
}
}  // namespace

bool gemm_streams_weights(int T) { return T <= kStreamedRows; }

int gemm_panel_group(int T) {
  if (T <= kStreamedRows) return streamed_group(simd_in_use(), T);
  return simd_in_use() == Simd::avx512 ? kTilePanels512 : 1;
}

float PanelMatrix::at(int k, int n) const {
  const size_t group = (size_t(n / kPanelWidth) * rows + k) * kPanelWidth;
  return format == WeightFormat::f32 ? f32[group + n % kPanelWidth]
                                     : bf16_to_f32(bf16[group + slot<uint16_t>(n % kPanelWidth)]);
}

PanelMatrix pack_panels(const float* w, int K, int N, bool transposed, WeightFormat format) {
  PanelMatrix m;
  m.rows = K;
  m.cols = N;
  m.format = format;
  const size_t total = size_t(m.panels()) * K * kPanelWidth;
  if (format == WeightFormat::f32) {
    m.f32.assign(total, 0.0f);
  } else {
    m.bf16.assign(total, 0);
  }
  auto put = [&](int k, int n, float v) {
    const size_t group = (size_t(n / kPanelWidth) * K + k) * kPanelWidth;
    if (format == WeightFormat::f32) {
      m.f32[group + n % kPanelWidth] = v;
    } else {
      m.bf16[group + slot<uint16_t>(n % kPanelWidth)] = f32_to_bf16(v);
    }
  };
  // Read the source in its own row order (the copy is then cache-friendly).
  if (transposed) {
    for (int n = 0; n < N; ++n)
      for (int k = 0; k < K; ++k) put(k, n, w[size_t(n) * K + k]);
  } else {
    for (int k = 0; k < K; ++k)
      for (int n = 0; n < N; ++n) put(k, n, w[size_t(k) * N + n]);
  }
  return m;
}

void gemm_panels(const float* x, int T, int ldx, const PanelMatrix& w, const float* bias, float* y,
                 int ldy, Epilogue epilogue, int panel_begin, int panel_end, float* scratch) {
  GPT2_CHECK(0 <= panel_begin && panel_begin <= panel_end && panel_end <= w.panels(),
             "panel range");
  if (T <= 0 || panel_begin == panel_end) return;
  if (w.format == WeightFormat::f32) {
    gemm_typed(w.f32.data(), x, T, ldx, w.rows, w.cols, bias, y, ldy, epilogue, panel_begin,
               panel_end, scratch);
  } else {
    gemm_typed(w.bf16.data(), x, T, ldx, w.rows, w.cols, bias, y, ldy, epilogue, panel_begin,
               panel_end, scratch);
  }
}

}  // namespace gpt2::optimized
