// GELU through an f16 lookup table, as ggml computes it on the CPU
// (ggml_vec_gelu_f32 with GGML_GELU_FP16, ggml's default): 65536 entries, one
// for each f16 bit pattern h,
//   table[h] = f16(gelu_tanh_f32(f32(h)))
// built from this engine's float32 gelu_new (gelu.h), and
//   gelu(x) = 0                        x <= -10
//             x                        x >= 10   (unrounded)
//             f32(table[f16(x)])       otherwise
// f16(·) rounds to nearest, ties to even (model/float_formats.h). This is the
// profile point gelu = table_f16 (model/profile.h): the kernel sets of the
// profiles f16-gelu-table and ggml-f16 use it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace gpt2::optimized {

// The table, built once on first use.
const std::array<uint16_t, 65536>& gelu_f16_table();

// f32(table[f16(x)]) for every x: the lookup without the clamps.
float gelu_f16_table_lookup(float x);

// The table's GELU, with the clamps (above).
float gelu_f16_table_clamped(float x);

// x[i] = gelu_f16_table_clamped(x[i]).
void gelu_f16_table_array(float* x, size_t n);

}  // namespace gpt2::optimized
