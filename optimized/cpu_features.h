// Run-time choice of the SIMD path of the `fast` and `bf16` kernels.
//
// The project is compiled for the baseline x86-64 ISA; the AVX2+FMA and
// AVX-512 code is in functions marked GPT2_TARGET_AVX2 / GPT2_TARGET_AVX512
// (__attribute__((target(...)))) and is called only when the CPU (and the OS,
// for the AVX-512 register state) reports the features, so the binary runs,
// on the scalar path, on any x86-64 CPU. Every path computes every output
// with the same sequence of correctly rounded float operations (fma in the
// same order, the same reduction trees), so all give bit-identical results;
// tests check it on every path the CPU has. The AVX-512 path has its own
// matrix products and GELU; elsewhere (LayerNorm, attention, whose reduction
// trees are 8 lanes wide) it runs the AVX2+FMA code.
#pragma once

#include <vector>

namespace gpt2::optimized {

// In order of preference (a later path implies the features of the earlier ones).
enum class Simd { scalar, avx2_fma, avx512 };

const char* simd_name(Simd simd);  // "scalar", "avx2+fma", "avx512"
bool cpu_supports(Simd simd);
// Every path this CPU supports, scalar first.
std::vector<Simd> supported_simd_paths();
// The path in use: the best supported one, unless overridden.
Simd simd_in_use();
// Overrides the path (tests and benchmarks). InternalError if unsupported.
void set_simd(Simd simd);

// Whether `simd` runs the AVX2+FMA code where it has none of its own.
inline bool has_avx2(Simd simd) { return simd != Simd::scalar; }

}  // namespace gpt2::optimized

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GPT2_HAVE_X86 1
#define GPT2_TARGET_AVX2 __attribute__((target("avx2,fma")))
// AVX-512 F (512-bit float ops), BW (16-bit element permutes, for bf16), VL
// and DQ (the 128/256-bit forms the compiler may pick inside these functions).
#define GPT2_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")))
#endif
