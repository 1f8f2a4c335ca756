#include "model/init.h"

#include <cstddef>

namespace gpt2 {

double seeded_normal(uint64_t seed, uint64_t stream, uint64_t counter) {
  const uint64_t key = mix64(seed ^ mix64(stream));
  // Three 64-bit draws give twelve 16-bit uniforms u_k in [0, 65535].
  int64_t sum = 0;
  for (uint64_t draw = 0; draw < 3; ++draw) {
    uint64_t bits = mix64(key + (counter * 3 + draw) * 0xd1b54a32d192ed03ull);
    for (int k = 0; k < 4; ++k, bits >>= 16) sum += static_cast<int64_t>(bits & 0xffff);
  }
  // (u + 1/2) / 65536 is uniform on (0, 1) with mean 1/2 and variance
  // (1 - 2^-32)/12; the sum of twelve, minus 6, is
  // (2·sum - 12·65535) / 131072: an exact integer times a power of two.
  const int64_t centred = 2 * sum - 12 * 65535;
  return static_cast<double>(centred) / 131072.0;
}

void fill_normal(std::vector<float>& out, uint64_t seed, uint64_t stream, double mean,
                 double stddev) {
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<float>(mean + stddev * seeded_normal(seed, stream, i));
}

}  // namespace gpt2
