// The SIMD paths as a test parameter: a test written once runs on every path
// (scalar, avx2_fma, avx512); a path this CPU lacks is skipped, saying so,
// rather than passing silently (CI machines may have no AVX-512).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "optimized/cpu_features.h"

namespace gpt2::optimized::testing {

inline constexpr Simd kAllSimdPaths[] = {Simd::scalar, Simd::avx2_fma, Simd::avx512};
inline constexpr Simd kVectorSimdPaths[] = {Simd::avx2_fma, Simd::avx512};

// Restores the path in use when a test ends.
struct SimdGuard {
  Simd saved = simd_in_use();
  ~SimdGuard() { set_simd(saved); }
};

// "scalar", "avx2_fma", "avx512": names for INSTANTIATE_TEST_SUITE_P.
inline std::string simd_param_name(const ::testing::TestParamInfo<Simd>& info) {
  std::string name = simd_name(info.param);
  for (char& c : name)
    if (c == '+') c = '_';
  return name;
}

// n floats uniform in [-a, a], from `seed`: the inputs of the kernels' tests.
inline std::vector<float> uniform(size_t n, uint64_t seed, float a = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-a, a);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// ULP of float at |x| (the spacing of floats around x): the unit of the
// vector math functions' error bounds.
inline double ulp(double x) {
  const float f = static_cast<float>(std::abs(x));
  return std::nextafter(f, INFINITY) - f;
}

}  // namespace gpt2::optimized::testing

// Skips the current test, naming the path, when the CPU lacks it.
#define GPT2_SKIP_UNLESS_CPU_HAS(simd)                                               \
  do {                                                                               \
    if (!::gpt2::optimized::cpu_supports(simd))                                      \
      GTEST_SKIP() << "this CPU has no " << ::gpt2::optimized::simd_name(simd)       \
                   << ": that path is not tested here (it is where the CPU has it)"; \
  } while (0)
