// The reference forward pass at a compile-time scalar type.
//
// forward<Real> reads the weights as they were stored (Weights<float>) and
// computes in Real: it is explicitly instantiated for float and double
// (forward_native.cpp), for Real50 and Real100 (forward_multiprecision.cpp)
// and for DoubleDouble (forward_double_double.cpp).
// Weights already held at Real (Weights<Real50>, Weights<Real100>: the
// reference as it was before weights stayed float, and a test's hand-made
// weights that no float holds) are instantiated too
// (forward_real_weights.cpp). Another scalar (e.g. the oracle's
// StochasticFloat) instantiates it by including reference/forward_impl.h in
// one .cpp file; it needs construction from int, float, double and a decimal
// string, + - * / comparisons, and sqrt, exp and tanh found by
// argument-dependent lookup (and round_to(FloatFormat, x), where
// model/float_formats.h's template does not serve it: reference/rounding.h). Most callers want
// reference::run (reference/reference.h), which picks the scalar at run time.
#pragma once

#include <type_traits>
#include <vector>

#include "model/trace.h"
#include "model/weights.h"
#include "reference/double_double.h"
#include "reference/real.h"
#include "reference/reference.h"

namespace gpt2::reference {

// GPT-2 over `tokens` at scalar Real: embedding, L blocks, ln_f, logits
// (tied wte), every intermediate named in the Trace. The weights stay of
// their type Weight (reference/weight_product.h). Throws InputError for bad
// tokens (naming the token index) or Mode::chunked.
template <class Real, class Weight>
Trace<Real> forward(const Weights<Weight>& weights, const std::vector<int>& tokens,
                    const Options& options = {});

extern template Trace<float> forward(const Weights<float>&, const std::vector<int>&,
                                     const Options&);
extern template Trace<double> forward(const Weights<float>&, const std::vector<int>&,
                                      const Options&);
extern template Trace<Real50> forward(const Weights<float>&, const std::vector<int>&,
                                      const Options&);
extern template Trace<Real100> forward(const Weights<float>&, const std::vector<int>&,
                                       const Options&);
extern template Trace<DoubleDouble> forward(const Weights<float>&, const std::vector<int>&,
                                            const Options&);
extern template Trace<Real50> forward(const Weights<Real50>&, const std::vector<int>&,
                                      const Options&);
extern template Trace<Real100> forward(const Weights<Real100>&, const std::vector<int>&,
                                       const Options&);

// GPT-2 over a padded batch (model/batch.h) at scalar Real, in one full pass
// over the rectangle [B, W]: every equation row by row, attention per batch
// row with the padding mask (options.padding_mask; attention.h,
// padded_attention) and the batch's position ids. Returns one trace per row
// holding its real tokens only, at positions 0 .. n_r - 1: with the padding
// mask, exactly the row's own forward() trace. Throws InputError for a bad
// batch (naming the row) or a mode other than Mode::full.
template <class Real, class Weight>
std::vector<Trace<Real>> forward_batch(const Weights<Weight>& weights,
                                       const std::vector<std::vector<int>>& rows, Padding padding,
                                       const Options& options = {});

extern template std::vector<Trace<float>> forward_batch(const Weights<float>&,
                                                        const std::vector<std::vector<int>>&,
                                                        Padding, const Options&);
extern template std::vector<Trace<double>> forward_batch(const Weights<float>&,
                                                         const std::vector<std::vector<int>>&,
                                                         Padding, const Options&);
extern template std::vector<Trace<Real50>> forward_batch(const Weights<float>&,
                                                         const std::vector<std::vector<int>>&,
                                                         Padding, const Options&);
extern template std::vector<Trace<Real100>> forward_batch(const Weights<float>&,
                                                          const std::vector<std::vector<int>>&,
                                                          Padding, const Options&);
extern template std::vector<Trace<DoubleDouble>> forward_batch(const Weights<float>&,
                                                               const std::vector<std::vector<int>>&,
                                                               Padding, const Options&);

// The name of a scalar in progress lines: precision_name() of the four
// instantiated here, "custom" for any other scalar a caller instantiates
// forward<Real> with (by including reference/forward_impl.h).
template <class Real>
const char* scalar_name() {
  if constexpr (std::is_same_v<Real, float>) return precision_name(Precision::f32);
  if constexpr (std::is_same_v<Real, double>) return precision_name(Precision::f64);
  if constexpr (std::is_same_v<Real, Real50>) return precision_name(Precision::digits50);
  if constexpr (std::is_same_v<Real, Real100>) return precision_name(Precision::digits100);
  if constexpr (std::is_same_v<Real, DoubleDouble>) return precision_name(Precision::dd);
  return "custom";
}

}  // namespace gpt2::reference
