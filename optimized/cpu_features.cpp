#include "optimized/cpu_features.h"

#include <atomic>

#include "model/error.h"

namespace gpt2::optimized {

namespace {
Simd best_supported() { return cpu_supports(Simd::avx2_fma) ? Simd::avx2_fma : Simd::scalar; }
std::atomic<Simd>& current() {
  static std::atomic<Simd> simd{best_supported()};
  return simd;
}
}  // namespace

const char* simd_name(Simd simd) { return simd == Simd::avx2_fma ? "avx2+fma" : "scalar"; }

bool cpu_supports(Simd simd) {
  switch (simd) {
    case Simd::scalar:
      return true;
    case Simd::avx2_fma:
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
      return false;
#endif
  }
  return false;
}

Simd simd_in_use() { return current().load(std::memory_order_relaxed); }

void set_simd(Simd simd) {
  GPT2_CHECK(cpu_supports(simd), std::string("this CPU does not support ") + simd_name(simd));
  current().store(simd, std::memory_order_relaxed);
}

}  // namespace gpt2::optimized
