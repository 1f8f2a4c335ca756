// Fused attention over the key/value cache with a streaming (online) softmax,
// for the `fast` and `bf16` kernels: one pass over the keys, no score vector.
//
// For one query q [HS] and keys/values [n, HS] (rows HS apart):
//   m = running max of s_j,  l = Σ exp(s_j - m),  o = Σ exp(s_j - m)·v_j
//   s_j = (q·k_j)·scale;  when s_j > m:  o, l *= exp(m_old - s_j)
//   out = o / l
// (Milakov & Gimelshein 2018, "Online normalizer calculation for softmax").
// q·k_j is an 8-lane fma sum reduced by a fixed tree; the AVX2 and scalar
// paths perform the same float operations and agree bit for bit.
#pragma once

namespace gpt2::optimized {

void attend_online_softmax(const float* q, const float* keys, const float* values, int n, int HS,
                           float scale, float* out);

// The 8-lane dot product used for the scores: lane i%8 accumulates
// fma(a[i], b[i], ·) in i order; lanes are summed as ((0+4)+(2+6))+((1+5)+(3+7)).
float dot_lanes8(const float* a, const float* b, int n);

}  // namespace gpt2::optimized
