// Matrix products of the `fast` and `bf16` kernels, over weights packed in
// column panels.
//
// A weight W [K, N] (a Conv1D weight, or wteᵀ for the lm_head) is stored as
// ceil(N / 16) panels of 16 columns, each panel one contiguous [K, 16] block
// (zero-padded past column N):  panels [NP, K, 16].  A decode step then
// streams each panel front to back (matrix-vector work at memory speed) and a
// prefill multiplies a tile of 6 rows by one panel (matrix-matrix work at
// FMA speed). A batched decode step (up to 32 rows) streams panels as a
// decode step does for its first row and reuses them from cache for the
// others. Panels are the unit of threading.
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
  bool operator==(const CacheLineAllocator<U>&) const { return true; }
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
// K·16 floats, private to the calling thread (bf16 widens a panel into it).
void gemm_panels(const float* x, int T, int ldx, const PanelMatrix& w, const float* bias, float* y,
                 int ldy, Epilogue epilogue, int panel_begin, int panel_end, float* scratch);

}  // namespace gpt2::optimized
