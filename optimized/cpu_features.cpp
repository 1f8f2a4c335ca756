#include "optimized/cpu_features.h"

#include <atomic>

#include "model/error.h"

namespace gpt2::optimized {

namespace {
Simd best_supported() {
  for (Simd s : {Simd::avx512, Simd::avx2_fma})
    if (cpu_supports(s)) return s;
  return Simd::scalar;
}
std::atomic<Simd>& current() {
  static std::atomic<Simd> simd{best_supported()};
  return simd;
}
}  // namespace

const char* simd_name(Simd simd) {
  switch (simd) {
    case Simd::scalar:
      return "scalar";
    case Simd::avx2_fma:
      return "avx2+fma";
    case Simd::avx512:
      return "avx512";
  }
  return "unknown";
}

bool cpu_supports(Simd simd) {
  switch (simd) {
    case Simd::scalar:
      return true;
#ifdef GPT2_HAVE_X86
    // __builtin_cpu_supports also checks that the OS saves the registers
    // (XCR0) for AVX and AVX-512.
    case Simd::avx2_fma:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Simd::avx512:
      __builtin_cpu_init();
      return cpu_supports(Simd::avx2_fma) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
#else
    default:
      return false;
#endif
  }
  return false;
}

std::vector<Simd> supported_simd_paths() {
  std::vector<Simd> paths;
  for (Simd s : {Simd::scalar, Simd::avx2_fma, Simd::avx512})
    if (cpu_supports(s)) paths.push_back(s);
  return paths;
}

Simd simd_in_use() { return current().load(std::memory_order_relaxed); }

void set_simd(Simd simd) {
  GPT2_CHECK(cpu_supports(simd), std::string("this CPU does not support ") + simd_name(simd));
  current().store(simd, std::memory_order_relaxed);
}

}  // namespace gpt2::optimized
