#include "oracle/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "model/error.h"

namespace gpt2::oracle {

double ulp_f32(double x) {
  const float f = static_cast<float>(std::abs(x));
  if (!std::isfinite(f)) return std::numeric_limits<double>::infinity();
  const float next = std::nextafter(f, std::numeric_limits<float>::infinity());
  // Rounding |x| to float may land on either neighbour; the spacing above the
  // rounded value is the float32 spacing at |x| except exactly at a power of
  // two, where it is the larger of the two (the conservative choice).
  return static_cast<double>(next) - static_cast<double>(f);
}

TensorMetrics compare_tensors(std::span<const double> value, std::span<const double> truth) {
  GPT2_CHECK(value.size() == truth.size(), "compare_tensors: sizes differ");
  TensorMetrics m;
  m.count = static_cast<int64_t>(truth.size());
  for (double t : truth) m.scale = std::max(m.scale, std::abs(t));
  const double relative_threshold = kRelativeErrorFloor * m.scale;
  double error2 = 0, truth2 = 0, value2 = 0, dot = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const double v = value[i], t = truth[i];
    if (!std::isfinite(v)) {
      if (std::isfinite(t) && m.first_non_finite < 0) m.first_non_finite = static_cast<int64_t>(i);
      continue;
    }
    const double e = std::abs(v - t);
    if (e > m.max_abs_error) {
      m.max_abs_error = e;
      m.worst_index = static_cast<int64_t>(i);
    }
    if (std::abs(t) > relative_threshold) {
      m.max_relative_error = std::max(m.max_relative_error, e / std::abs(t));
      m.max_ulp_error = std::max(m.max_ulp_error, e / ulp_f32(t));
    }
    error2 += (v - t) * (v - t);
    truth2 += t * t;
    value2 += v * v;
    dot += v * t;
  }
  if (m.count > 0) {
    m.worst_value = value[m.worst_index];
    m.worst_truth = truth[m.worst_index];
  }
  m.max_error_to_scale = m.scale > 0 ? m.max_abs_error / m.scale : 0;
  m.nmse =
      truth2 > 0 ? error2 / truth2 : (error2 > 0 ? std::numeric_limits<double>::infinity() : 0);
  m.cosine = (truth2 > 0 && value2 > 0) ? dot / std::sqrt(truth2 * value2)
                                        : (truth2 == value2 ? 1.0 : 0.0);
  return m;
}

namespace {

// Indices of the k largest entries, largest first (ties: lower index first).
std::vector<int> top_k(std::span<const double> row, int k) {
  std::vector<int> index(row.size());
  std::iota(index.begin(), index.end(), 0);
  k = std::min<int>(k, static_cast<int>(row.size()));
  std::partial_sort(index.begin(), index.begin() + k, index.end(),
                    [&](int a, int b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
  index.resize(k);
  return index;
}

// log softmax(row), max-subtracted.
std::vector<double> log_softmax(std::span<const double> row) {
  const double m = *std::max_element(row.begin(), row.end());
  double sum = 0;
  for (double x : row) sum += std::exp(x - m);
  const double log_sum = std::log(sum);
  std::vector<double> out(row.size());
  for (size_t i = 0; i < row.size(); ++i) out[i] = row[i] - m - log_sum;
  return out;
}

}  // namespace

std::vector<LogitPositionMetrics> compare_logits(std::span<const double> value,
                                                 std::span<const double> truth, int vocab_size) {
  GPT2_CHECK(vocab_size > 0 && value.size() == truth.size() && truth.size() % vocab_size == 0,
             "compare_logits: shapes");
  std::vector<LogitPositionMetrics> out(truth.size() / vocab_size);
  for (size_t p = 0; p < out.size(); ++p) {
    const auto t = truth.subspan(p * vocab_size, vocab_size);
    const auto v = value.subspan(p * vocab_size, vocab_size);
    LogitPositionMetrics& m = out[p];
    const auto top_t = top_k(t, 5), top_v = top_k(v, 5);
    m.truth_argmax = top_t[0];
    m.value_argmax = top_v[0];
    m.truth_margin =
        top_t.size() > 1 ? t[top_t[0]] - t[top_t[1]] : std::numeric_limits<double>::infinity();
    for (int a : top_v) m.top5_overlap += std::count(top_t.begin(), top_t.end(), a) > 0;
    const bool finite = std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    if (!finite) {
      m.kl_divergence = std::numeric_limits<double>::infinity();
      continue;
    }
    const auto log_p = log_softmax(t), log_q = log_softmax(v);
    double kl = 0;
    for (int i = 0; i < vocab_size; ++i) kl += std::exp(log_p[i]) * (log_p[i] - log_q[i]);
    m.kl_divergence = std::max(0.0, kl);  // tiny negative values are rounding
  }
  return out;
}

}  // namespace gpt2::oracle
