// Seeded weight initialisation with the same bits on every platform and
// compiler: a counter-based generator (the splitmix64 finaliser) and a normal
// approximation built from integer arithmetic. No std:: distribution (their
// algorithms differ between standard libraries) and no libm call (exp, log,
// cos differ in their last bits between libms) take part: the only floating
// point operations are one multiplication and one addition in IEEE double,
// then one rounding to float, all correctly rounded everywhere.
#pragma once

#include <cstdint>
#include <vector>

namespace gpt2 {

// splitmix64's finaliser (Steele, Lea & Flood, 2014): a bijective 64-bit mix.
// Inline: the stochastic-rounding baseline calls it once per operation.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Approximately standard normal draw number `counter` of stream `stream`:
// the Irwin-Hall sum of twelve 16-bit uniforms, centred, mean 0, variance
// 1 - 2^-32 (so within 1e-9 of N(0, 1)), bounded by ±6. Returned exactly as a
// multiple of 2^-17.
double seeded_normal(uint64_t seed, uint64_t stream, uint64_t counter);

// out[i] = float(mean + stddev · seeded_normal(seed, stream, i)).
void fill_normal(std::vector<float>& out, uint64_t seed, uint64_t stream, double mean,
                 double stddev);

}  // namespace gpt2
