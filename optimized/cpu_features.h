// Run-time choice of the SIMD path of the `fast` and `bf16` kernels.
//
// The project is compiled for the baseline x86-64 ISA; the AVX2+FMA code is in
// functions marked __attribute__((target("avx2,fma"))) and is called only
// when the CPU reports both features, so the binary runs (on the scalar path)
// on any x86-64 CPU. Both paths compute every output with the same sequence
// of correctly rounded float operations (fma in the same order, the same
// reduction tree), so they give bit-identical results; a test checks it.
#pragma once

namespace gpt2::optimized {

enum class Simd { scalar, avx2_fma };

const char* simd_name(Simd simd);  // "scalar", "avx2+fma"
bool cpu_supports(Simd simd);
// The path in use: the best supported one, unless overridden.
Simd simd_in_use();
// Overrides the path (tests and benchmarks). InternalError if unsupported.
void set_simd(Simd simd);

}  // namespace gpt2::optimized
