// Error metrics on a pair of tensors: an implementation's values against the
// truth (the 50-digit reference rounded to double). Non-finite values are
// checked before any metric.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace gpt2::oracle {

// A truth element counts for the elementwise relative and ULP errors only when
// |truth| > kRelativeErrorFloor × max|truth|: near-zero elements have
// meaningless relative errors (cancellation makes them pure rounding noise).
inline constexpr double kRelativeErrorFloor = 1e-3;

struct TensorMetrics {
  int64_t count = 0;
  // The first element (row-major index) where the value is NaN/Inf while the
  // truth is finite; -1 when there is none. When set, the error metrics
  // below are not meaningful (they are computed over finite pairs only).
  int64_t first_non_finite = -1;
  double max_abs_error = 0;       // max |value - truth|
  int64_t worst_index = 0;        // where max_abs_error is reached
  double worst_value = 0;         // value[worst_index]
  double worst_truth = 0;         // truth[worst_index]
  double scale = 0;               // max |truth|
  double max_error_to_scale = 0;  // max_abs_error / scale (0 when scale is 0)
  double max_relative_error = 0;  // max |value - truth| / |truth| where |truth| is not tiny
  double max_ulp_error = 0;       // max |value - truth| / ulp_f32(truth), same elements
  double nmse = 0;                // Σ(value - truth)² / Σ truth²  (llama.cpp's NMSE)
  double cosine = 1;              // value·truth / (|value| |truth|)
};

// The spacing of float32 numbers at |x| (for 0 and subnormals, the smallest
// subnormal spacing 2^-149).
double ulp_f32(double x);

TensorMetrics compare_tensors(std::span<const double> value, std::span<const double> truth);

// Logits [T, V]: agreement of the next-token distributions per position.
struct LogitPositionMetrics {
  int truth_argmax = 0;
  int value_argmax = 0;
  double truth_margin = 0;   // top-1 minus top-2 truth logit (a near-tie when small)
  int top5_overlap = 0;      // |top5(value) ∩ top5(truth)|, 0..5 (min(5, V) at most)
  double kl_divergence = 0;  // KL(softmax(truth) || softmax(value)) in nats
};

std::vector<LogitPositionMetrics> compare_logits(std::span<const double> value,
                                                 std::span<const double> truth, int vocab_size);

}  // namespace gpt2::oracle
