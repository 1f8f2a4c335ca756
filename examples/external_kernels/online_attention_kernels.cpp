#include "online_attention_kernels.h"

#include <cmath>
#include <limits>
#include <vector>

namespace external {

void OnlineAttentionKernels::attention(const gpt2::optimized::Pass& pass, int layer,
                                       const float* qkv, const gpt2::optimized::KvCache& cache,
                                       float* out) {
  const int NH = cache.n_head(), HS = cache.head_size(), C = NH * HS;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  std::vector<float> acc(HS);
  for (int t = 0; t < pass.n_tokens; ++t) {
    const int pos = pass.pos0 + t;
    // Keys 0 .. n-1: up to the query under the causal mask, the whole pass
    // without it (the mask's rule, model/modes.h).
    const int n = gpt2::visible_keys(pass.mask, pos, pass.end());
    for (int h = 0; h < NH; ++h) {
      const float* q = qkv + size_t(t) * 3 * C + h * HS;  // [HS]
      float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int j = 0; j < n; ++j) {
        const float* k = cache.key(layer, h, j);    // [HS]
        const float* v = cache.value(layer, h, j);  // [HS]
        float s = 0.0f;
        for (int i = 0; i < HS; ++i) s += q[i] * k[i];
        s *= scale;
        const float m_new = std::max(m, s);
        const float rescale = std::exp(m - m_new), p = std::exp(s - m_new);
        l = l * rescale + p;
        for (int i = 0; i < HS; ++i) acc[i] = acc[i] * rescale + p * v[i];
        m = m_new;
      }
      float* o = out + size_t(t) * C + h * HS;
      for (int i = 0; i < HS; ++i) o[i] = acc[i] / l;
    }
  }
}

}  // namespace external
