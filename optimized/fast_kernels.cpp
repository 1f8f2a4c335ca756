// The `fast` kernel set: PanelKernels (panel_kernels.h, panel_kernels_impl.cpp)
// on float32 weights.
#include "optimized/panel_kernels.h"

namespace gpt2::optimized {

void register_fast_kernels() {
  register_kernel_set(
      KernelSet{"fast",
                "float32, panel-packed weights, threaded GEMV/GEMM (AVX-512 or AVX2+FMA chosen at "
                "run time), fused "
                "bias+gelu, online-softmax attention",
                [](const Weights<float>& w, ThreadPool& pool) -> std::unique_ptr<Kernels> {
                  return std::make_unique<PanelKernels>(w, pool, WeightFormat::f32);
                },
                {},
                /*batch_invariant=*/true});
}

}  // namespace gpt2::optimized
