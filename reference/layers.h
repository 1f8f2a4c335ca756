// The layers of GPT-2 other than attention, one function per equation, for
// any scalar Real (float, double, Real50, Real100). Plain loops, no fusion.
//
// Shapes use the legend of model/weights.h (T rows, C channels, V vocabulary,
// P positions); every tensor is a flat row-major std::vector. The square
// root, exp and tanh are found by argument-dependent lookup, so a
// multiprecision Real uses its own correctly rounded functions.
//
// Weights are of their stored type Weight (float for every model: the
// reference does not convert them) and activations of type Real; a weight
// meets an activation only through reference/weight_product.h (as_real,
// WeightRow, MultiplyAdd), which rounds exactly as if the weight were a Real.
// Weight defaults to Real, for callers that hold weights at Real.
#pragma once

#include <algorithm>
#include <boost/math/constants/constants.hpp>
#include <cmath>
#include <cstdlib>
#include <span>
#include <type_traits>
#include <vector>

#include "model/error.h"
#include "reference/dd_kernels.h"
#include "reference/double_double.h"
#include "reference/parallel.h"
#include "reference/rounding.h"
#include "reference/row_kernel.h"
#include "reference/team.h"
#include "reference/weight_product.h"

namespace gpt2::reference {

// A decimal constant at the full precision of Real: "0.044715" is exactly
// 0.044715 to 50 digits in Real50, and the nearest float in float.
template <class Real>
Real decimal(const char* text) {
  if constexpr (std::is_same_v<Real, float>) {
    return std::strtof(text, nullptr);
  } else if constexpr (std::is_same_v<Real, double>) {
    return std::strtod(text, nullptr);
  } else {
    return Real(text);
  }
}

// x[t] = wte[tokens[t]] + wpe[first_position + t]   (GPT-2 input embedding)
// x: [T, C] (resized);  wte: [V, C];  wpe: [P, C];  tokens: T ids.
template <class Real, class Weight = Real>
void embedding(std::vector<Real>& x, std::span<const int> tokens, int first_position,
               const std::vector<Weight>& wte, const std::vector<Weight>& wpe, int C) {
  const int T = static_cast<int>(tokens.size());
  x.assign(static_cast<size_t>(T) * C, Real(0));
  for (int t = 0; t < T; ++t) {
    const size_t token_row = static_cast<size_t>(tokens[t]) * C;
    const size_t position_row = static_cast<size_t>(first_position + t) * C;
    for (int c = 0; c < C; ++c)
      x[t * C + c] = as_real<Real>(wte[token_row + c]) + as_real<Real>(wpe[position_row + c]);
  }
}

// x[t] = wte[tokens[t]] + wpe[positions[t]]   (the same embedding with a
// position id per token: a padded batch's rows, model/batch.h)
// x: [T, C] (resized);  tokens, positions: T each.
template <class Real, class Weight = Real>
void embedding_at(std::vector<Real>& x, std::span<const int> tokens, std::span<const int> positions,
                  const std::vector<Weight>& wte, const std::vector<Weight>& wpe, int C) {
  GPT2_CHECK(tokens.size() == positions.size(), "embedding_at: one position id per token");
  const int T = static_cast<int>(tokens.size());
  x.assign(static_cast<size_t>(T) * C, Real(0));
  for (int t = 0; t < T; ++t) {
    const size_t token_row = static_cast<size_t>(tokens[t]) * C;
    const size_t position_row = static_cast<size_t>(positions[t]) * C;
    for (int c = 0; c < C; ++c)
      x[t * C + c] = as_real<Real>(wte[token_row + c]) + as_real<Real>(wpe[position_row + c]);
  }
}

// LayerNorm over the channels of each row (GPT-2 ln_1, ln_2, ln_f;
// torch.nn.LayerNorm):
//   mean = Σ_c x_c / C
//   var  = Σ_c (x_c - mean)² / C          (biased variance)
//   y_c  = (x_c - mean) / sqrt(var + eps) · gain_c + bias_c   (eps inside the root)
// computed, as torch does, as (x_c - mean)·rstd·gain_c + bias_c with
// rstd = 1 / sqrt(var + eps).
// y: [T, C] (resized);  x: [T, C];  gain, bias: [C].
template <class Real, class Weight = Real>
void layer_norm(std::vector<Real>& y, const std::vector<Real>& x, const std::vector<Weight>& gain,
                const std::vector<Weight>& bias, int T, int C, double eps) {
  using std::sqrt;
  y.assign(static_cast<size_t>(T) * C, Real(0));
  const Real epsilon = Real(eps);  // the config's double, exactly
  for (int t = 0; t < T; ++t) {
    const Real* row = &x[static_cast<size_t>(t) * C];
    Real sum = Real(0);
    for (int c = 0; c < C; ++c) sum += row[c];
    const Real mean = sum / Real(C);
    Real squares = Real(0);
    for (int c = 0; c < C; ++c) squares += (row[c] - mean) * (row[c] - mean);
    const Real variance = squares / Real(C);
    const Real inverse_deviation = Real(1) / sqrt(variance + epsilon);
    for (int c = 0; c < C; ++c)
      y[static_cast<size_t>(t) * C + c] =
          (row[c] - mean) * inverse_deviation * as_real<Real>(gain[c]) + as_real<Real>(bias[c]);
  }
}

// Columns of y computed together by one work item of `linear`.
inline constexpr int kLinearColumnBlock = 64;

// linear's columns [j_begin, j_end) at Real = DoubleDouble: the same sums in
// the same order as the loop in `linear` (y[t][j] += x[t][i]·W[i][j] for i
// ascending, then + b[j]), with the accumulators of the block held as hi and
// lo arrays so that the loop over j is dd_multiply_add_row
// (reference/dd_kernels.h), vectorised across columns: bit-identical to the
// scalar loop (reference/dd_kernels_test.cpp).
template <class Weight>
void linear_block_dd(std::vector<DoubleDouble>& y, const std::vector<DoubleDouble>& x,
                     const std::vector<Weight>& w, const std::vector<Weight>& b, int T, int in,
                     int out, int j_begin, int j_end) {
  const int n = j_end - j_begin;
  std::vector<double> hi(static_cast<size_t>(T) * n, 0.0), lo(hi.size(), 0.0), w_row(n);
  for (int i = 0; i < in; ++i) {
    for (int j = 0; j < n; ++j)  // W[i][j_begin .. j_end), exactly
      w_row[j] = static_cast<double>(w[static_cast<size_t>(i) * out + j_begin + j]);
    for (int t = 0; t < T; ++t)
      dd_multiply_add_row(&hi[static_cast<size_t>(t) * n], &lo[static_cast<size_t>(t) * n],
                          x[static_cast<size_t>(t) * in + i], w_row.data(), n);
  }
  for (int t = 0; t < T; ++t)
    for (int j = 0; j < n; ++j) {
      const size_t k = static_cast<size_t>(t) * n + j;
      y[static_cast<size_t>(t) * out + j_begin + j] =
          DoubleDouble(hi[k], lo[k]) + as_real<DoubleDouble>(b[j_begin + j]);
    }
}

// y = x·W + b   (GPT-2's Conv1D: W stored [in, out], not transposed)
//   y[t][j] = (Σ_i x[t][i]·W[i][j]) + b[j],  the sum taken over i in ascending order.
// y: [T, out] (resized);  x: [T, in];  W: [in, out];  b: [out].
// Work items are blocks of kLinearColumnBlock output columns. Within a block
// the loop over i is outside the loop over t, so each row of W's block is
// read (and made ready for Real's products) once for all T rows; the order
// of the sum for each y[t][j] is the same as in the textbook loop.
// In a team (reference/team.h) each rank computes its slice of the blocks
// and, when `share`, the columns are exchanged before return; otherwise the
// caller shares them (after gelu_owned_columns).
template <class Real, class Weight = Real>
void linear(std::vector<Real>& y, const std::vector<Real>& x, const std::vector<Weight>& w,
            const std::vector<Weight>& b, int T, int in, int out, const Parallel& parallel,
            bool share = true) {
  GPT2_CHECK(x.size() == static_cast<size_t>(T) * in, "linear: x is not [T, in]");
  GPT2_CHECK(w.size() == static_cast<size_t>(in) * out, "linear: W is not [in, out]");
  GPT2_CHECK(b.size() == static_cast<size_t>(out), "linear: b is not [out]");
  y.assign(static_cast<size_t>(T) * out, Real(0));
  const int64_t blocks = (out + kLinearColumnBlock - 1) / kLinearColumnBlock;
  const int64_t cost =
      static_cast<int64_t>(T) * in * kLinearColumnBlock * multiply_add_nanoseconds<Real>();
  const Slice own = owned_slice(parallel, blocks);  // all of them, in one process
  parallel.for_each(own.size(), cost, [&](int64_t item) {
    const int64_t block = own.begin + item;
    const int j_begin = static_cast<int>(block) * kLinearColumnBlock;
    const int j_end = std::min(out, j_begin + kLinearColumnBlock);
    if constexpr (std::is_same_v<Real, DoubleDouble>) {
      linear_block_dd(y, x, w, b, T, in, out, j_begin, j_end);
      return;
    } else if constexpr (RowKernel<Real>::kVectorised) {
      // The same loop with its innermost row vectorised (reference/row_kernel.h).
      static_assert(std::is_same_v<Weight, float>, "a vectorised row reads float weights");
      for (int i = 0; i < in; ++i)
        for (int t = 0; t < T; ++t)
          RowKernel<Real>::multiply_add(
              &y[static_cast<size_t>(t) * out + j_begin], x[static_cast<size_t>(t) * in + i],
              &w[static_cast<size_t>(i) * out + j_begin], j_end - j_begin);
      for (int t = 0; t < T; ++t)
        for (int j = j_begin; j < j_end; ++j)
          y[static_cast<size_t>(t) * out + j] += as_real<Real>(b[j]);
      return;
    }
    WeightRow<Real, Weight> w_row(j_end - j_begin);  // W[i][j_begin .. j_end)
    MultiplyAdd<Real> multiply_add;
    for (int i = 0; i < in; ++i) {
      w_row.load(&w[static_cast<size_t>(i) * out + j_begin]);
      for (int t = 0; t < T; ++t) {
        const Real& x_ti = x[static_cast<size_t>(t) * in + i];
        Real* y_row = &y[static_cast<size_t>(t) * out + j_begin];
        for (int j = 0; j < j_end - j_begin; ++j)
          multiply_add(y_row[j], x_ti, w_row[j]);  // y[t][j] += x[t][i]·W[i][j]
      }
    }
    for (int t = 0; t < T; ++t)
      for (int j = j_begin; j < j_end; ++j)
        y[static_cast<size_t>(t) * out + j] += as_real<Real>(b[j]);
  });
  if (share) share_owned_columns(parallel, y, T, out, kLinearColumnBlock);
}

// gelu_new(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))
// GPT-2's activation (Hugging Face "gelu_new"; the tanh form, not the erf
// form of torch.nn.GELU()). The constants are computed once, at Real's
// precision.
template <class Real>
struct GeluTanh {
  Real sqrt_2_over_pi;
  Real cubic_coefficient;
  GeluTanh() {
    using std::sqrt;
    if constexpr (std::is_same_v<Real, DoubleDouble>)
      sqrt_2_over_pi = sqrt(Real(2) / dd_pi());  // Boost's constants need a Boost number
    else
      sqrt_2_over_pi = sqrt(Real(2) / boost::math::constants::pi<Real>());
    cubic_coefficient = decimal<Real>("0.044715");
  }
  Real operator()(const Real& x) const {
    using std::tanh;
    const Real inner = sqrt_2_over_pi * (x + cubic_coefficient * x * x * x);
    return Real(0.5) * x * (Real(1) + tanh(inner));
  }
};

// GELU as an f16 lookup table (a profile's gelu = table_f16, model/profile.h;
// ggml's CPU GELU), for the pre-activation u:
//   u <= -10: 0;   u >= 10: u (not rounded);
//   otherwise round_f16(gelu_new(round_f16(u))), gelu_new at Real's precision.
// The clamps compare u itself, before any rounding.
template <class Real>
struct GeluTableF16 {
  GeluTanh<Real> gelu;
  Real operator()(const Real& u) const {
    if (u <= Real(kGeluTableLow)) return Real(0);
    if (u >= Real(kGeluTableHigh)) return u;
    return rounded(FloatFormat::f16, gelu(rounded(FloatFormat::f16, u)));
  }
};

// h = gelu_new(h), element by element.   h: [T, 4C].
template <class Real>
void gelu_tanh_in_place(std::vector<Real>& h, const Parallel& parallel) {
  const GeluTanh<Real> gelu;
  // A multiprecision tanh costs ~40 multiply-adds.
  parallel.for_each(static_cast<int64_t>(h.size()), 40 * multiply_add_nanoseconds<Real>(),
                    [&](int64_t i) { h[i] = gelu(h[i]); });
}

// GELU on the columns of h: [T, width] that linear(..., share = false)
// computed here (all of them in one process), in blocks of
// kLinearColumnBlock columns; the caller then shares them
// (share_owned_columns), so the MLP's first half is one exchange in a team.
// `gelu` is GeluTanh (the formula) or GeluTableF16 (a profile's f16 table).
template <class Real, class Gelu>
void gelu_owned_columns(std::vector<Real>& h, int T, int width, const Parallel& parallel,
                        const Gelu& gelu) {
  const Slice own = owned_slice(parallel, (width + kLinearColumnBlock - 1) / kLinearColumnBlock);
  const int j_begin = static_cast<int>(own.begin) * kLinearColumnBlock;
  const int j_end = std::min<int>(width, static_cast<int>(own.end) * kLinearColumnBlock);
  const int n = std::max(0, j_end - j_begin);
  parallel.for_each(static_cast<int64_t>(T) * n, 40 * multiply_add_nanoseconds<Real>(),
                    [&](int64_t i) {
                      Real& x = h[static_cast<size_t>(i / n) * width + j_begin + i % n];
                      x = gelu(x);
                    });
}

// x = x + y   (a residual connection).   x, y: [T, C].
template <class Real>
void add_in_place(std::vector<Real>& x, const std::vector<Real>& y) {
  GPT2_CHECK(x.size() == y.size(), "residual: shapes differ");
  for (size_t i = 0; i < x.size(); ++i) x[i] += y[i];
}

// Vocabulary entries (columns of the logits, rows of wte) computed together
// by one work item of `logits`.
inline constexpr int kLogitsColumnBlock = 64;

// Rows [v_begin, v_end) of wte ([V, C]) laid out column by column, exactly
// as To: panel[c][v - v_begin]. The vectorised logits loops read it so that
// their lanes run across vocabulary entries.
template <class To, class Weight>
std::vector<To> column_panel(const std::vector<Weight>& wte, int C, int v_begin, int v_end) {
  const int n = v_end - v_begin;
  std::vector<To> panel(static_cast<size_t>(C) * n);
  for (int v = 0; v < n; ++v)
    for (int c = 0; c < C; ++c)
      panel[static_cast<size_t>(c) * n + v] =
          static_cast<To>(wte[static_cast<size_t>(v_begin + v) * C + c]);
  return panel;
}

// logits' vocabulary entries [v_begin, v_end) at Real = DoubleDouble: the
// same sums in the same order as the loop in `logits` (sum += h[t][c]·wte[v][c]
// for c ascending), vectorised across v: the block's rows of wte are first
// laid out column by column (panel[c][v - v_begin], exactly as doubles) so
// that the loop over v is dd_multiply_add_row. Bit-identical to the scalar
// loop (reference/dd_kernels_test.cpp).
template <class Weight>
void logits_block_dd(std::vector<DoubleDouble>& logits, const std::vector<DoubleDouble>& h,
                     const std::vector<Weight>& wte, int T, int C, int V, int v_begin, int v_end) {
  const int n = v_end - v_begin;
  const std::vector<double> panel = column_panel<double>(wte, C, v_begin, v_end);
  std::vector<double> hi(n), lo(n);
  for (int t = 0; t < T; ++t) {
    std::fill(hi.begin(), hi.end(), 0.0);
    std::fill(lo.begin(), lo.end(), 0.0);
    for (int c = 0; c < C; ++c)
      dd_multiply_add_row(hi.data(), lo.data(), h[static_cast<size_t>(t) * C + c],
                          &panel[static_cast<size_t>(c) * n], n);
    for (int v = 0; v < n; ++v)
      logits[static_cast<size_t>(t) * V + v_begin + v] = DoubleDouble(hi[v], lo[v]);
  }
}

// logits[t][v] = Σ_c h[t][c]·wte[v][c]   (GPT-2's lm_head, tied to wte:
// logits = h·wteᵀ, no bias), the sum taken over c in ascending order.
// logits: [T, V] (resized);  h: [T, C] (after ln_f);  wte: [V, C].
// Each row of wte is read (and made ready for Real's products) once for all
// T rows of h.
template <class Real, class Weight = Real>
void logits(std::vector<Real>& logits, const std::vector<Real>& h, const std::vector<Weight>& wte,
            int T, int C, int V, const Parallel& parallel) {
  logits.assign(static_cast<size_t>(T) * V, Real(0));
  const int64_t blocks = (V + kLogitsColumnBlock - 1) / kLogitsColumnBlock;
  const int64_t cost =
      static_cast<int64_t>(T) * C * kLogitsColumnBlock * multiply_add_nanoseconds<Real>();
  const Slice own = owned_slice(parallel, blocks);  // all of them, in one process
  parallel.for_each(own.size(), cost, [&](int64_t item) {
    const int64_t block = own.begin + item;
    const int v_begin = static_cast<int>(block) * kLogitsColumnBlock;
    const int v_end = std::min(V, v_begin + kLogitsColumnBlock);
    if constexpr (std::is_same_v<Real, DoubleDouble>) {
      logits_block_dd(logits, h, wte, T, C, V, v_begin, v_end);
      return;
    } else if constexpr (RowKernel<Real>::kVectorised) {
      // The same sums, vectorised across v as in logits_block_dd: the block's
      // rows of wte laid out column by column, then acc[v] += h[t][c]·wte[v][c]
      // for c ascending (reference/row_kernel.h).
      static_assert(std::is_same_v<Weight, float>, "a vectorised row reads float weights");
      const int n = v_end - v_begin;
      const std::vector<float> panel = column_panel<float>(wte, C, v_begin, v_end);
      std::vector<Real> sums(n);
      for (int t = 0; t < T; ++t) {
        std::fill(sums.begin(), sums.end(), Real(0));
        for (int c = 0; c < C; ++c)
          RowKernel<Real>::multiply_add(sums.data(), h[static_cast<size_t>(t) * C + c],
                                        &panel[static_cast<size_t>(c) * n], n);
        std::copy(sums.begin(), sums.end(), &logits[static_cast<size_t>(t) * V + v_begin]);
      }
      return;
    }
    WeightRow<Real, Weight> embedding_row(C);  // wte[v]
    MultiplyAdd<Real> multiply_add;
    for (int v = v_begin; v < v_end; ++v) {
      embedding_row.load(&wte[static_cast<size_t>(v) * C]);
      for (int t = 0; t < T; ++t) {
        const Real* h_row = &h[static_cast<size_t>(t) * C];
        Real sum = Real(0);
        for (int c = 0; c < C; ++c)
          multiply_add(sum, h_row[c], embedding_row[c]);  // sum += h[t][c]·wte[v][c]
        logits[static_cast<size_t>(t) * V + v] = sum;
      }
    }
  });
  share_owned_columns(parallel, logits, T, V, kLogitsColumnBlock);  // in a team
}

}  // namespace gpt2::reference
