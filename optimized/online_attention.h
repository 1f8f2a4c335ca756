// Fused attention over the key/value cache with a streaming (online) softmax,
// for the `fast` and `bf16` kernels: one pass over the keys, in blocks of 8,
// no score vector (Milakov & Gimelshein 2018, "Online normalizer calculation
// for softmax"; the block form is FlashAttention's).
//
// For one query q [HS] and keys/values [n, HS] (rows HS apart), per block of
// keys j0 .. j0+7 (the last block may be shorter):
//   s_j = (q·k_j)·scale                     8-lane fma dots, see below
//   m'  = max(m, max_j s_j)                 running max (m = -inf at first)
//   c   = exp(m - m')   (only when m' > m)  o ·= c, l ·= c
//   p_j = exp(s_j - m')                     exp_f32.h
//   l  += ((p0+p4)+(p2+p6))+((p1+p5)+(p3+p7))
//   o   = fma(p_j, v_j, o)  for j in order
// out = o / l.
// A dot q·k_j runs 8 lanes, lane i accumulating fma(q[d], k_j[d], ·) for
// d = i, i+8, ... (zero past HS), summed as ((a0+a1)+(a2+a3))+((a4+a5)+(a6+a7)).
// The AVX2 and scalar paths perform the same float operations and agree bit
// for bit; the blocks start at key 0 whatever n is, so the same query over the
// same keys gives the same bits in a prefill and in a decode step. A NaN score
// (NaN or an infinity in q or k) makes the output NaN, never a finite guess.
#pragma once

namespace gpt2::optimized {

void attend_online_softmax(const float* q, const float* keys, const float* values, int n, int HS,
                           float scale, float* out);

}  // namespace gpt2::optimized
