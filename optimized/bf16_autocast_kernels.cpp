// The `bf16-autocast` kernel set (profile bf16-autocast), what PyTorch's
// autocast to bfloat16 computes: the weight matrices and embeddings (wte,
// also the tied lm_head, and wpe) rounded once to bf16, LayerNorms and biases
// kept float32, and the activation operand of every projection and of the
// lm_head (the outputs of ln_1, attention, ln_2, GELU and ln_f) rounded to
// bf16 just before the product; the products accumulate in float32 in the
// fast set's order, so each equals fast's on the rounded operands bit for
// bit. The residual stream and the KV cache stay float32 (ProfileKernels,
// profile_kernels.h).
#include "optimized/profile_kernels.h"

namespace gpt2::optimized {

void register_bf16_autocast_kernels() {
  register_kernel_set(profile_kernel_set("bf16-autocast",
                                         "bf16 weights and matmul inputs, float32 accumulation "
                                         "(profile bf16-autocast, as PyTorch autocast)",
                                         "bf16-autocast"));
}

}  // namespace gpt2::optimized
