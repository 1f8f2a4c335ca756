// The `f16-gelu-table` kernel set (profile f16-gelu-table): `fast` with
// GELU through ggml's f16 lookup table (gelu_table.h): the pre-activation
// rounded to f16 and looked up in a table of the float32 formula's values
// rounded to f16, 0 at or below -10 and the input itself at or above 10.
// The fc product is fast's; only the fused GELU after it changes, in
// project_gelu, its batch form and gelu() (ProfileKernels, profile_kernels.h).
#include "optimized/profile_kernels.h"

namespace gpt2::optimized {

void register_f16_gelu_table_kernels() {
  register_kernel_set(profile_kernel_set(
      "f16-gelu-table",
      "GELU from ggml's f16 lookup table (profile f16-gelu-table); otherwise as fast",
      "f16-gelu-table"));
}

}  // namespace gpt2::optimized
