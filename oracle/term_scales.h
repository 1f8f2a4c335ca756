// The magnitude S of the terms that make each kind of tensor, for the floor
// of the budget (oracle/tolerance.h, kFloorUlps): one function per op, each
// with its first-order error analysis. Used for the trace's tensors
// (oracle/budget.h) and for each op replayed alone (oracle/replay.h).
// Shapes: model/weights.h's legend; every tensor a flat row-major vector.
#pragma once

#include <vector>

#include "model/modes.h"

namespace gpt2::oracle {

using Vector = std::vector<double>;

double max_abs(const Vector& v);

// y = x·W + b (+ extra): max_{t,j} Σ_i |x[t][i]·W[i][j]| + |b[j]| (+ |extra[t][j]|).
// x: [T, in];  W: [in, out];  b: [out];  extra: [T, out] or empty.
double product_terms(const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                     int T, int in, int out, const Vector& extra = {});

// LayerNorm of x ([T, C]) with gain g and bias b ([C]).
double norm_terms(const Vector& x, const std::vector<float>& g, const std::vector<float>& b, int C,
                  double eps);

// Attention over qkv ([T, 3C], NH heads) with `mask`.
double attention_terms(const Vector& qkv, int T, int C, int NH, Mask mask);

// g = gelu_new(x·W + b).   x: [T, in];  W: [in, out];  b: [out];  g: [T, out].
double gelu_terms(const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                  const Vector& g, int T, int in, int out);

// d/du gelu_new(u).
double gelu_derivative(double u);

}  // namespace gpt2::oracle
