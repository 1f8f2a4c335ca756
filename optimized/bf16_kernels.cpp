// The `bf16` kernel set: every weight tensor rounded once, at load, to
// bfloat16 (nearest, ties to even); the matrices are stored as bf16 (half the
// bytes a decode step streams) and widened to float32 in registers; all
// arithmetic and accumulation is float32, exactly as in `fast`. Its only
// extra error is therefore the rounding of the weights, which the oracle
// separates by computing truth on round_weights_to_bf16(weights).
//
// AVX-512 BF16's dot product (vdpbf16ps) is not used, on purpose:
// - it multiplies bf16 by bf16, so the float32 activations would have to be
//   rounded to bf16 too: a rounding of every matrix input (relative error up
//   to 2^-9, against 2^-24 for float32) that changes the results far beyond
//   this set's float32 budget, and that the oracle can only judge once
//   precision profiles declare such rounding points (issue 16);
// - it adds each pair of products to the accumulator odd element first and
//   flushes denormals, which is not the k-order fma chain every path of this
//   set computes, so it could never give this set's bits. A set using it
//   would be a set of its own name (e.g. `bf16-dp`), judged under its profile;
// - and it would not make decode faster: decode is bound by memory, not by
//   the widening. On one core, with the weights in L2, the widening GEMV
//   reads ~60 GB/s of bf16 weights (engine_bench PanelGemv768/bf16/avx512/1,
//   thread CPU time), about five times what DRAM delivers to a core here.
#include "model/profile.h"
#include "model/safetensors.h"
#include "optimized/panel_kernels.h"

namespace gpt2::optimized {

// The weights of the profile `bf16-weights` (every tensor: its `weights` and
// `norms_and_biases` points are both bf16), rounded where profiles round them.
Weights<float> round_weights_to_bf16(const Weights<float>& weights) {
  return round_weights(weights, find_profile("bf16-weights"));
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
      /*batch_invariant=*/true,
      /*runs_batches=*/true,
      // Its weights, LayerNorms and biases rounded to bf16 (round_weights(w,
      // bf16-weights) is round_weights_to_bf16(w)); float32 arithmetic.
      /*profile=*/"bf16-weights"});
}

}  // namespace gpt2::optimized
