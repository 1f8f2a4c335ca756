// The one vectorised loop of the double-double tier: acc[j] += x·w[j] over a
// row of weights, with the accumulators held as two arrays (hi and lo).
//
// `linear` and `logits` (reference/layers.h) use it at Real = DoubleDouble in
// place of their innermost loop over output columns. Each element is the
// same two operations as the scalar MultiplyAdd<DoubleDouble>
// (reference/weight_product.h): the product x·w by DWTimesFP3 and the sum by
// AccurateDWPlusDW (reference/double_double.h), in the same order: lanes
// hold different columns, never parts of one sum. So every path gives the
// same bits as the scalar loop (reference/dd_kernels_test.cpp checks each
// path this CPU has), and a dd truth is reproducible on any x86-64 machine.
#pragma once

#include <vector>

#include "reference/double_double.h"

namespace gpt2::reference {

enum class DdPath { scalar, avx2_fma, avx512 };

const char* dd_path_name(DdPath path);  // "scalar", "avx2+fma", "avx512"
// The paths this CPU runs, scalar first.
std::vector<DdPath> dd_paths_supported();
// The path dd_multiply_add_row takes: the widest this CPU runs, unless
// force_dd_path chose one (benchmarks and tests).
DdPath dd_path();
// Makes every later dd_multiply_add_row take `path` (which the CPU must
// run); process-wide, not for use while a forward pass runs.
void force_dd_path(DdPath path);

// (hi[j], lo[j]) = (hi[j], lo[j]) + x·w[j] for j in [0, n).
void dd_multiply_add_row(double* hi, double* lo, const DoubleDouble& x, const double* w, int n);
// The same on a given path (tests).
void dd_multiply_add_row_on(DdPath path, double* hi, double* lo, const DoubleDouble& x,
                            const double* w, int n);

}  // namespace gpt2::reference
