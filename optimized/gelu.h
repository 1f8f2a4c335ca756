// GPT-2's GELU (gelu_new) for the `fast` and `bf16` kernels, vectorised:
//   gelu(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))
//
// libm's tanhf is scalar and was a quarter of the fc product's time in a
// prefill, so tanh is evaluated here by the Cephes single-precision method,
// written once as a sequence of float operations that the scalar, AVX2+FMA
// and AVX-512 paths perform identically (bit-identical results):
//   |y| < 0.625:  y + y·z·P(z), z = y², P of degree 4        (Cephes tanhf)
//   otherwise:    sign(y)·(1 - 2 / (exp(2|y|) + 1)), |y| clamped at 10, with
//                 exp from exp_f32.h (Cephes expf)
// Its error is at most a few float ULPs of tanh (the test measures and prints
// the worst over a dense sweep), against libm's ~1 ULP.
#pragma once

#include <cstddef>

namespace gpt2::optimized {

float tanh_f32(float y);
float gelu_tanh_f32(float x);
// out[i] = gelu_tanh_f32(in[i]) (out may equal in).
void gelu_tanh_array(const float* in, float* out, size_t n);

}  // namespace gpt2::optimized
