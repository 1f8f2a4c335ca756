// The `ggml-f16` kernel set (profile ggml-f16), what ggml computes for a
// model stored in f16 on the CPU: the weight matrices and embeddings rounded
// once to f16 (LayerNorms and biases float32), the activation operand of
// every projection and of the lm_head rounded to f16 before the product
// (ggml converts src1 to the weights' type), float32 accumulation, and GELU
// through the f16 table (gelu_table.h). The table's outputs are f16 values
// already, so the rounding of the GELU output as mlp_proj's input changes
// only the pass-through at u >= 10 (ProfileKernels, profile_kernels.h).
#include "optimized/profile_kernels.h"

namespace gpt2::optimized {

void register_ggml_f16_kernels() {
  register_kernel_set(profile_kernel_set("ggml-f16",
                                         "f16 weights and matmul inputs, f16 GELU table, float32 "
                                         "accumulation (profile ggml-f16, as ggml's f16 models)",
                                         "ggml-f16"));
}

}  // namespace gpt2::optimized
