// The multiprecision scalars of the reference: Real50 (the truth) and
// Real100 (the check on the truth's own accuracy).
//
// Why MPFR (boost::multiprecision::mpfr_float_backend, libmpfr + libgmp):
// measured with bench/reference_bench on the 2-core development machine
// (g++ 12 -O2, Boost 1.74, MPFR 4.2), all in one run, since timings on this
// shared machine drift by ±30% between runs. Multiply-add: `acc += x[i]·w[i]`
// over rows of 768, one thread, expression templates off; tanh of 0.3.
//
//   type (50 digits)                          bytes  multiply-add   tanh
//   cpp_bin_float_50                             64      129 ns     24.2 µs
//   cpp_dec_float_50                             56      116 ns      8.6 µs
//   mpfr_float_50 (allocate_dynamic)      32 + heap       93 ns      2.4 µs
//   mpfr_float_backend<50, allocate_stack>       56       82 ns      2.4 µs   <- Real50
//   mpfr_float_backend<100, allocate_stack>      80       97 ns      4.6 µs   <- Real100
//   double                                        8      1.0 ns     0.02 µs
//
// The stack-allocated MPFR type has the cheapest multiply-add (the temporary
// x·w needs no heap allocation), a tanh 4-10x cheaper than Boost's own
// types, and the smallest numbers without a heap block each (56 bytes: the
// activations, the key/value cache and the sums; the weights stay float,
// reference/weight_product.h). Expression templates on, and mpfr_fma called directly,
// were both slower in a separate test (MPFR's fma is slower than its
// multiply plus add).
//
// The forward pass stays close to the bare loop: in the same run,
// gpt2-124m-shape with 8 tokens at 50 digits on 2 threads took 48.5 s
// (target: 2 minutes), 49.0 ns per multiply-add overall against 43.7 ns for
// the bare loop on 2 threads (1.12x; target 1.5x); tiny with 8 tokens took
// 7.5-12 ms (target 50 ms), where tanh is a third of the time.
// Commands: reference_bench --benchmark_filter='124m|Tiny|MultiplyAdd/|Tanh/'

// Precision: 50 decimal digits are ceil(50·log2(10)) + 1 = 168 bits of
// mantissa, 100 digits 334 bits; MPFR rounds every operation (+, ·, /, sqrt,
// exp, tanh) correctly to that many bits, so a 50-digit run is 50 digits all
// the way through.
#pragma once

#include <boost/multiprecision/mpfr.hpp>

namespace gpt2::reference {

using Real50 = boost::multiprecision::number<
    boost::multiprecision::mpfr_float_backend<50, boost::multiprecision::allocate_stack>,
    boost::multiprecision::et_off>;
using Real100 = boost::multiprecision::number<
    boost::multiprecision::mpfr_float_backend<100, boost::multiprecision::allocate_stack>,
    boost::multiprecision::et_off>;

}  // namespace gpt2::reference
