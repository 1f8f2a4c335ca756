// forward<Real> for the hardware scalars, on the stored (float) weights.
// float is the naive float32 baseline of the oracle's error budget (docs/architecture.md,
// numerics policy).
#include "reference/forward_impl.h"

namespace gpt2::reference {

template Trace<float> forward(const Weights<float>&, const std::vector<int>&, const Options&);
template Trace<double> forward(const Weights<float>&, const std::vector<int>&, const Options&);
template std::vector<Trace<float>> forward_batch(const Weights<float>&,
                                                 const std::vector<std::vector<int>>&, Padding,
                                                 const Options&);
template std::vector<Trace<double>> forward_batch(const Weights<float>&,
                                                  const std::vector<std::vector<int>>&, Padding,
                                                  const Options&);

}  // namespace gpt2::reference
