// Tests' access to the paths of the vectorised StochasticFloat row
// (oracle/stochastic_rows.cpp; the row itself is declared in
// oracle/stochastic_float.h).
#pragma once

#include <string>
#include <vector>

#include "oracle/stochastic_float.h"

namespace gpt2::oracle::testing {

// "scalar", then "avx2" and "avx512" where this CPU runs them.
std::vector<std::string> stochastic_row_paths();
// The row on one path.
void stochastic_row_on(const std::string& path, StochasticFloat* acc, StochasticFloat x,
                       const float* w, int n);
// Makes stochastic_multiply_add_row take `path` (process-wide; benchmarks
// and tests, never while a run is going on).
void use_stochastic_row_path(const std::string& path);

}  // namespace gpt2::oracle::testing
