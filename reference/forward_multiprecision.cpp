// forward<Real> for the multiprecision scalars (reference/real.h), on the
// stored (float) weights: the truth at 50 digits and its check at 100 digits.
#include "reference/forward_impl.h"

namespace gpt2::reference {

template Trace<Real50> forward(const Weights<float>&, const std::vector<int>&, const Options&);
template Trace<Real100> forward(const Weights<float>&, const std::vector<int>&, const Options&);
template std::vector<Trace<Real50>> forward_batch(const Weights<float>&,
                                                  const std::vector<std::vector<int>>&, Padding,
                                                  const Options&);
template std::vector<Trace<Real100>> forward_batch(const Weights<float>&,
                                                   const std::vector<std::vector<int>>&, Padding,
                                                   const Options&);

}  // namespace gpt2::reference
