#include "optimized/panel_gemm.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "model/error.h"
#include "model/safetensors.h"
#include "optimized/cpu_features.h"
#include "optimized/gelu.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define GPT2_HAVE_X86 1
#endif

namespace gpt2::optimized {

namespace {
constexpr int kTileRows = 6;    // MR: 6 rows x 16 columns = 12 ymm accumulators
constexpr int kRowBlock = 96;   // rows of x kept hot while the thread walks its panels
constexpr int kGemvPanels = 4;  // panels a decode step streams side by side (8 chains)
// Up to this many rows of x (a batched decode step: one row per sequence),
// streaming the weights from memory sets the pace, not the FMAs: see
// gemm_typed.
constexpr int kStreamedRows = 32;

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
__attribute__((target("avx2,fma"), always_inline)) inline void load16(const float* p, __m256& lo,
                                                                      __m256& hi) {
  lo = _mm256_loadu_ps(p);
  hi = _mm256_loadu_ps(p + 8);
}
__attribute__((target("avx2,fma"), always_inline)) inline void load16(const uint16_t* p, __m256& lo,
                                                                      __m256& hi) {
  // bf16 -> f32: the 16 bits become the upper half of the float (exact);
  // with the kBf16Slot storage order the unpacks give columns 0..7 and 8..15.
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  const __m256i zero = _mm256_setzero_si256();
  lo = _mm256_castsi256_ps(_mm256_unpacklo_epi16(zero, v));
  hi = _mm256_castsi256_ps(_mm256_unpackhi_epi16(zero, v));
}

template <int MR, int NP, class B>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* x, int ldx, const B* panel,
                                                   size_t panel_stride, int K, const float* bias,
                                                   float* tile) {
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
#endif

template <int MR, int NP, class B>
void tile(bool avx2, const float* x, int ldx, const B* panel, size_t panel_stride, int K,
          const float* bias, float* out) {
#ifdef GPT2_HAVE_X86
  if (avx2) return tile_avx2<MR, NP, B>(x, ldx, panel, panel_stride, K, bias, out);
#endif
  tile_scalar<MR, NP, B>(x, ldx, panel, panel_stride, K, bias, out);
}

template <class B>
void tile_rows(bool avx2, int mr, const float* x, int ldx, const B* panel, size_t panel_stride,
               int K, const float* bias, float* out) {
  switch (mr) {
    case 1:
      return tile<1, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
    case 2:
      return tile<2, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
    case 3:
      return tile<3, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
    case 4:
      return tile<4, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
    case 5:
      return tile<5, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
    case 6:
      return tile<6, 1, B>(avx2, x, ldx, panel, panel_stride, K, bias, out);
  }
  GPT2_CHECK(false, "tile rows out of range");
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
  const bool avx2 = simd_in_use() == Simd::avx2_fma;
  const size_t stride = size_t(K) * kPanelWidth;  // elements per panel
  alignas(32) float bias_pad[kGemvPanels * kPanelWidth];
  alignas(32) float tile_buf[kTileRows * kGemvPanels * kPanelWidth];
  auto load_bias = [&](int p, int np) {
    for (int j = 0; j < np * kPanelWidth; ++j) {
      const int n = p * kPanelWidth + j;
      bias_pad[j] = (bias && n < N) ? bias[n] : 0.0f;
    }
  };
  auto width_of = [&](int p, int np) {
    return std::min(N, (p + np) * kPanelWidth) - p * kPanelWidth;
  };

  if (T <= kStreamedRows) {
    // A decode step (T = 1) or a batched one: the first row streams
    // kGemvPanels panels side by side from memory; the other rows then reuse
    // those panels from cache, one panel at a time in tiles of rows. (Tiles of
    // rows alone read each panel from memory as one stream: a 16-row step of
    // gpt2-124m-shape spent two thirds of its time in its first tiles.)
    for (int p = p_begin; p < p_end; p += kGemvPanels) {
      const int np = std::min(kGemvPanels, p_end - p);
      if (np == kGemvPanels) {
        load_bias(p, kGemvPanels);
        tile<1, kGemvPanels, B>(avx2, x, ldx, panels + p * stride, stride, K, bias_pad, tile_buf);
        finish(tile_buf, 1, kGemvPanels * kPanelWidth, p * kPanelWidth, width_of(p, kGemvPanels), y,
               ldy, e);
      } else {
        for (int q = p; q < p + np; ++q) {
          load_bias(q, 1);
          tile<1, 1, B>(avx2, x, ldx, panels + q * stride, stride, K, bias_pad, tile_buf);
          finish(tile_buf, 1, kPanelWidth, q * kPanelWidth, width_of(q, 1), y, ldy, e);
        }
      }
      for (int q = p; q < p + np && T > 1; ++q) {
        load_bias(q, 1);
        const float* panel = widened(panels + q * stride, stride, scratch);
        for (int r = 1; r < T; r += kTileRows) {
          const int mr = std::min(kTileRows, T - r);
          tile_rows<float>(avx2, mr, x + size_t(r) * ldx, ldx, panel, stride, K, bias_pad,
                           tile_buf);
          finish(tile_buf, mr, kPanelWidth, q * kPanelWidth, width_of(q, 1), y + size_t(r) * ldy,
                 ldy, e);
        }
      }
    }
    return;
  }
  for (int r0 = 0; r0 < T; r0 += kRowBlock) {
    const int r1 = std::min(T, r0 + kRowBlock);
    for (int p = p_begin; p < p_end; ++p) {
      load_bias(p, 1);
      // bf16: the panel widened once (exact), the same products as widening
      // in registers, without redoing it per tile.
      const float* panel = widened(panels + p * stride, stride, scratch);
      for (int r = r0; r < r1; r += kTileRows) {
        const int mr = std::min(kTileRows, r1 - r);
        tile_rows<float>(avx2, mr, x + size_t(r) * ldx, ldx, panel, stride, K, bias_pad, tile_buf);
        finish(tile_buf, mr, kPanelWidth, p * kPanelWidth, width_of(p, 1), y + size_t(r) * ldy, ldy,
               e);
      }
    }
  }
}
}  // namespace

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
