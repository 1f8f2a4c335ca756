// Matrix products of the `fast` and `bf16` kernels, over weights packed in
// column panels.
//
// A weight W [K, N] (a Conv1D weight, or wteᵀ for the lm_head) is stored as
// ceil(N / 16) panels of 16 columns, each panel one contiguous [K, 16] block
// (zero-padded past column N):  panels [NP, K, 16].  A decode step then
// streams 4 panels side by side, front to back (matrix-vector work at memory
// speed), and a prefill multiplies a tile of rows by panels (matrix-matrix
// work at FMA speed): 6 rows by 1 panel in ymm registers on the AVX2 path,
// 8 rows by 3 panels in zmm registers on the AVX-512 path. A batched decode
// step (up to 32 rows) streams panels as a decode step does for its first
// row and reuses them from cache for the others. Panels are the unit of
// threading.
//
// Every output element is one fused-multiply-add chain in k order:
//   acc = bias[n] (or 0);  acc = fma(x[t, k], W[k, n], acc)  for k = 0 .. K-1
// so the result does not depend on T (prefill and decode agree bit for bit),
// on how panels are split over threads, or on the SIMD path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace gpt2::optimized {

inline constexpr int kPanelWidth = 16;
// Panels a thread may widen at once (bf16 prefill): gemm_panels' scratch.
inline constexpr int kScratchPanels = 4;

// Storage aligned to a cache line: a panel row of 16 floats is then exactly
// one 64-byte line and no 32-byte load straddles two lines. (A large
// std::vector from malloc starts 16 bytes into a page; there, every other
// load of a panel row split across lines.)
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const {
    return true;
  }
};
template <class T>
using AlignedVector = std::vector<T, CacheLineAllocator<T>>;

enum class WeightFormat { f32, bf16 };

struct PanelMatrix {
  int rows = 0;  // K
  int cols = 0;  // N
  WeightFormat format = WeightFormat::f32;
  AlignedVector<float> f32;      // [NP, K, 16] when format == f32
  AlignedVector<uint16_t> bf16;  // [NP, K, 16] when format == bf16 (upper half of a float;
                                 // columns 4..7 and 8..11 of each 16 swapped, see .cpp)

  int panels() const { return (cols + kPanelWidth - 1) / kPanelWidth; }
  size_t bytes() const { return f32.size() * sizeof(float) + bf16.size() * sizeof(uint16_t); }
  float at(int k, int n) const;  // W[k, n]
};

// Packs W [K, N] given row-major (transposed = false) or as Wᵀ [N, K]
// row-major (transposed = true: wte [V, C] for the lm_head). bf16 rounds each
// element to nearest, ties to even.
PanelMatrix pack_panels(const float* w, int K, int N, bool transposed, WeightFormat format);

enum class Epilogue {
  store,       // y = acc
  accumulate,  // y = y + acc  (the residual connection)
  gelu_tanh,   // y = gelu_tanh_f32(acc)  (gelu.h)
};

// y [T, N] (row stride ldy) from x [T, K] (row stride ldx), for the panels
// [panel_begin, panel_end) of w only. bias [N] may be null. scratch: at least
// gemm_scratch_floats(K) floats, private to the calling thread (bf16 widens
// panels into it).
// The panels gemm_panels works on together for T rows on the SIMD path in
// use (8 side by side in a one-row decode step on AVX-512, else 4 in a
// decode step; 3 per AVX-512 prefill tile): splits
// of the panel range at multiples of it keep every group whole.
int gemm_panel_group(int T);
// Whether gemm_panels streams the weights from memory for T rows (a decode
// step, or a batched one: T <= 32), each group of panels read once, rather
// than walking tiles of rows over panels kept in cache (prefill).
bool gemm_streams_weights(int T);

inline size_t gemm_scratch_floats(int K) { return size_t(kScratchPanels) * K * kPanelWidth; }
void gemm_panels(const float* x, int T, int ldx, const PanelMatrix& w, const float* bias, float* y,
                 int ldy, Epilogue epilogue, int panel_begin, int panel_end, float* scratch);

}  // namespace gpt2::optimized
