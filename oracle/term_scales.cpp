#include "oracle/term_scales.h"

#include <algorithm>
#include <cmath>

#include "reference/attention.h"

namespace gpt2::oracle {

double max_abs(const Vector& v) {
  double m = 0;
  for (double x : v) m = std::max(m, std::abs(x));
  return m;
}

// max_{t,j} Σ_i |x[t][i]·W[i][j]| + |b[j]| (+ |extra[t][j]|): the terms of
// y = x·W + b (+ extra).   x: [T, in];  W: [in, out];  b: [out];  extra: [T, out] or empty.
double product_terms(const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                     int T, int in, int out, const Vector& extra) {
  double m = 0;
  Vector row(out);
  for (int t = 0; t < T; ++t) {
    for (int j = 0; j < out; ++j) row[j] = std::abs(double(b[j]));
    for (int i = 0; i < in; ++i) {
      const double xi = std::abs(x[size_t(t) * in + i]);
      const float* wi = &w[size_t(i) * out];
      for (int j = 0; j < out; ++j) row[j] += xi * std::abs(double(wi[j]));
    }
    for (int j = 0; j < out; ++j)
      m = std::max(m, row[j] + (extra.empty() ? 0.0 : std::abs(extra[size_t(t) * out + j])));
  }
  return m;
}

// The terms of a LayerNorm's output y_c = (x_c - mean)·rstd·g_c + b_c: the
// input and its mean enter at the scale rstd·|g_c| (a rounding of the mean,
// |mean|·u, reaches y amplified by rstd: over a row of nearly equal values
// rstd is up to 1/sqrt(eps) and the output is pure amplified rounding), and
// the bias at its own. max over rows and channels of
// (|x_c| + |mean|)·rstd·|g_c| + |b_c|.   x: [T, C];  g, b: [C].
double norm_terms(const Vector& x, const std::vector<float>& g, const std::vector<float>& b, int C,
                  double eps) {
  double m = 0;
  for (size_t row = 0; row < x.size() / C; ++row) {
    const double* r = &x[row * C];
    double mean = 0, var = 0;
    for (int c = 0; c < C; ++c) mean += r[c];
    mean /= C;
    for (int c = 0; c < C; ++c) var += (r[c] - mean) * (r[c] - mean);
    const double rstd = 1 / std::sqrt(var / C + eps);
    for (int c = 0; c < C; ++c)
      m = std::max(m, (std::abs(r[c]) + std::abs(mean)) * rstd * std::abs(double(g[c])) +
                          std::abs(double(b[c])));
  }
  return m;
}

// The terms of attention's output o_d = Σ_j p_j·v_jd, p = softmax(s), s_j =
// q·k_j / sqrt(HS): the values enter at Σ_j p_j·|v_jd|, and a rounding of
// the scores (of the terms of each dot product, Σ_d' |q_d'·k_jd'| / sqrt(HS),
// and of exp's result, 1 relative) moves o_d by Σ_j p_j·|v_jd - o_d| times
// it (the softmax's Jacobian): in a near-tie between scores of order 1e3 that
// is what sets the scale, not the values. max over rows, heads and channels of
// Σ_j p_j·|v_jd| + Σ_j p_j·|v_jd - o_d|·(max_j Σ_d' |q_d'·k_jd'| / sqrt(HS) + 1).
// qkv: [T, 3C], NH heads.
double attention_terms(const Vector& qkv, int T, int C, int NH, Mask mask) {
  const int HS = C / NH;
  const double root = std::sqrt(double(HS));
  double m = 0;
  Vector p(T), score_terms(T);
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < NH; ++h) {
      const int n = visible_keys(mask, t, T);
      const double* q = &qkv[size_t(t) * 3 * C + h * HS];
      double max_score = -INFINITY, max_terms = 0;
      for (int j = 0; j < n; ++j) {
        const double* k = &qkv[size_t(j) * 3 * C + C + h * HS];
        double dot = 0, terms = 0;
        for (int d = 0; d < HS; ++d) dot += q[d] * k[d], terms += std::abs(q[d] * k[d]);
        p[j] = dot / root;
        max_score = std::max(max_score, p[j]);
        max_terms = std::max(max_terms, terms / root);
      }
      double sum = 0;
      for (int j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - max_score));
      for (int j = 0; j < n; ++j) p[j] /= sum;
      for (int d = 0; d < HS; ++d) {
        const size_t column = 2 * C + h * HS + d;
        double o = 0, values = 0, spread = 0;
        for (int j = 0; j < n; ++j) o += p[j] * qkv[size_t(j) * 3 * C + column];
        for (int j = 0; j < n; ++j) {
          const double v = qkv[size_t(j) * 3 * C + column];
          values += p[j] * std::abs(v);
          spread += p[j] * std::abs(v - o);
        }
        m = std::max(m, values + spread * (max_terms + 1));
      }
    }
  return m;
}

// d/du gelu_new(u), in double.
double gelu_derivative(double u) {
  const double k = std::sqrt(2.0 / M_PI), c = 0.044715;
  const double inner = k * (u + c * u * u * u), th = std::tanh(inner);
  return 0.5 * (1 + th) + 0.5 * u * (1 - th * th) * k * (1 + 3 * c * u * u);
}

// The terms of gelu(u), u = x·W + b: the pre-activation's terms S_u carried by
// |gelu'(u)|, and gelu's own rounding at |gelu(u)|. max over elements of
// |gelu(u)| + |gelu'(u)|·(Σ_i |x_i·W_ij| + |b_j|).
// x: [T, in];  W: [in, out];  b: [out];  g = gelu(u): [T, out].
double gelu_terms(const Vector& x, const std::vector<float>& w, const std::vector<float>& b,
                  const Vector& g, int T, int in, int out) {
  double m = 0;
  Vector u(out), terms(out);
  for (int t = 0; t < T; ++t) {
    for (int j = 0; j < out; ++j) {
      u[j] = b[j];
      terms[j] = std::abs(u[j]);
    }
    for (int i = 0; i < in; ++i) {
      const double xi = x[size_t(t) * in + i];
      const float* wi = &w[size_t(i) * out];
      for (int j = 0; j < out; ++j) {
        u[j] += xi * double(wi[j]);
        terms[j] += std::abs(xi * double(wi[j]));
      }
    }
    for (int j = 0; j < out; ++j)
      m = std::max(m,
                   std::abs(g[size_t(t) * out + j]) + std::abs(gelu_derivative(u[j])) * terms[j]);
  }
  return m;
}

}  // namespace gpt2::oracle
