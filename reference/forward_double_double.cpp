// forward<DoubleDouble> on the stored (float) weights: the fast truth tier
// (`--precision dd`, reference/double_double.h).
#include "reference/forward_impl.h"

namespace gpt2::reference {

template Trace<DoubleDouble> forward(const Weights<float>&, const std::vector<int>&,
                                     const Options&);
template std::vector<Trace<DoubleDouble>> forward_batch(const Weights<float>&,
                                                        const std::vector<std::vector<int>>&,
                                                        Padding, const Options&);

}  // namespace gpt2::reference
