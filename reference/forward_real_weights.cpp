// forward<Real> on weights already held at Real: every product is then of
// two Reals, as the reference computed before its weights stayed float. The
// stored-weights test (reference/stored_weights_test.cpp) measures the float
// weights against it bit for bit; tests whose hand-made weights no float
// holds use it too. Nothing else should: 124M's weights at 50 digits are 7 GB.
#include "reference/forward_impl.h"

namespace gpt2::reference {

template Trace<Real50> forward(const Weights<Real50>&, const std::vector<int>&, const Options&);
template Trace<Real100> forward(const Weights<Real100>&, const std::vector<int>&, const Options&);

}  // namespace gpt2::reference
