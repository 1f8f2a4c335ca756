// The `bf16` kernel set: every weight tensor rounded once, at load, to
// bfloat16 (nearest, ties to even); the matrices are stored as bf16 (half the
// bytes a decode step streams) and widened to float32 in registers; all
// arithmetic and accumulation is float32, exactly as in `fast`. Its only
// extra error is therefore the rounding of the weights, which the oracle
// separates by computing truth on round_weights_to_bf16(weights).
#include "model/safetensors.h"
#include "optimized/panel_kernels.h"

namespace gpt2::optimized {

Weights<float> round_weights_to_bf16(const Weights<float>& weights) {
  Weights<float> rounded = weights;
  for_each_tensor(rounded, [](const std::string&, std::vector<float>& t, const Shape&) {
    for (float& v : t) v = bf16_to_f32(f32_to_bf16(v));
  });
  return rounded;
}

void register_bf16_kernels() {
  register_kernel_set(KernelSet{
      "bf16", "bfloat16 weights (rounded once at load), float32 arithmetic; otherwise as fast",
      [](const Weights<float>& w, ThreadPool& pool) -> std::unique_ptr<Kernels> {
        // PanelKernels rounds every tensor itself (no rounded copy of the
        // whole model is made): the result is round_weights_to_bf16(w)'s.
        return std::make_unique<PanelKernels>(w, pool, WeightFormat::bf16);
      },
      round_weights_to_bf16,
      /*batch_invariant=*/true});
}

}  // namespace gpt2::optimized
