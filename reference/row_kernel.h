// A vectorised "acc[j] += x·w[j]" for a scalar whose operations are slow one
// at a time: the oracle's StochasticFloat (oracle/stochastic_rows.h), whose
// every operation hashes its operands to choose a rounding direction.
//
// A scalar opts in by specialising RowKernel<Real> with kVectorised = true and
//   static void multiply_add(Real* acc, const Real& x, const float* w, int n);
// which must give, for every j < n, exactly the bits of the generic loop's
// MultiplyAdd<Real>(acc[j], x, as_real<Real>(w[j])) (reference/weight_product.h).
// `linear` and `logits` (reference/layers.h) then run their innermost loop
// through it, with every sum in its textbook order. The specialisation must
// be declared in the header that defines the scalar, so that every
// instantiation of the reference at that scalar sees it.
//
// DoubleDouble has its own row (reference/dd_kernels.h: its accumulators are
// two arrays, not an array of Real).
#pragma once

namespace gpt2::reference {

template <class Real>
struct RowKernel {
  static constexpr bool kVectorised = false;
};

}  // namespace gpt2::reference
