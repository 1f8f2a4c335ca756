// Float32 kernel sets whose every reduction follows a declared order.
//
// A correct float32 GPT-2 has two freedoms: how each result is rounded (the
// stochastic-rounding runs of oracle/stochastic_float.h vary that) and in
// which order the terms of each sum are added (this file). The order sets the
// partial sums, and with them the size of every rounding: adding a thousand
// attention-score terms of order 1e3 left to right, in a tree, or in 16
// lanes gives errors that no rounding pattern of one fixed order shows.
//
// An OrderedKernels set computes every op of kernels.h in plain float32
// loops, with each reduction (the dot products of projections, attention
// scores and logits; LayerNorm's two sums; the softmax denominator; the
// attention-weighted sum of values) taken in the order of its SummationOrder.
// They serve twice: as members of the budget's baseline ensemble
// (oracle/ensemble.h), and, with orders the ensemble does not contain, as
// independent correct engines that the budget calibration judges
// (property_tests/budget_calibration.cpp): the budget must pass them.
#pragma once

#include <cstdint>
#include <string>

#include "optimized/kernels.h"

namespace gpt2::oracle {

// The order in which the terms t_0 .. t_{n-1} of a sum are added.
enum class SumOrder {
  ascending,   // ((t_0 + t_1) + t_2) + ...             (the reference's order)
  descending,  // ((t_{n-1} + t_{n-2}) + ...)
  pairwise,    // recursive halves: (sum(first half) + sum(second half))
  permuted,    // ascending over a fixed random permutation of the indices
  lanes,       // `width` accumulators, t_i into lane i mod width, lanes then
               // combined by halving (a SIMD dot product with a horizontal add)
  blocked,     // blocks of `width` terms summed from zero, each added to the
               // running total (a BLAS GEMM's k-blocking)
};

// Where the bias b and, for a residual projection, the old value y go in
// y = y + (Σ_i x_i·W_ij + b_j).
enum class Epilogue {
  sum_bias_residual,  // y + ((Σ) + b)   the reference (and GPT-2's x + proj(...))
  sum_residual_bias,  // (y + Σ) + b     Eigen's Y += X·W; Y += b
  bias_first,         // the accumulator starts at y + b (a fused GEMM epilogue)
};

struct SummationOrder {
  SumOrder order = SumOrder::ascending;
  int width = 1;      // lanes or block size
  uint64_t seed = 0;  // permuted: which permutation
  bool fma = false;   // each product fused into its accumulation (one rounding)
  Epilogue epilogue = Epilogue::sum_bias_residual;
  // Attention in one pass over the keys with a running max and rescaled
  // running sums (FlashAttention's online softmax), instead of scores, max,
  // exp, sum, divide, weighted sum.
  bool online_softmax = false;
  // q·(1/sqrt(HS)) before the dot products instead of scaling each score.
  bool scale_queries = false;
  // One line: "lanes16, fma, bias first, online softmax".
  std::string describe() const;
};

// A kernel set computing GPT-2 in float32 with every reduction in `order`
// (single-threaded; for the oracle's ensemble and calibration, not for speed).
optimized::KernelSet ordered_kernel_set(const std::string& name, const SummationOrder& order);

}  // namespace gpt2::oracle
