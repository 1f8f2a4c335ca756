// The `f16kv` kernel set (profile f16-kv): `fast` with its keys and values
// stored rounded to IEEE half (nearest, ties to even), as llama.cpp's and
// vLLM's f16 KV caches store them. write_cache rounds what it stores, so
// attention reads rounded keys and values in every mode (a prefill's own
// keys too, not only the cache's); queries and everything else are float32,
// as in `fast`. The cache keeps the rounded values as floats: the values are
// what the profile is about, not the bytes (ProfileKernels,
// profile_kernels.h).
#include "optimized/profile_kernels.h"

namespace gpt2::optimized {

void register_f16kv_kernels() {
  register_kernel_set(profile_kernel_set(
      "f16kv", "keys and values stored rounded to f16 (profile f16-kv); otherwise as fast",
      "f16-kv"));
}

}  // namespace gpt2::optimized
