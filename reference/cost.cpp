#include "reference/cost.h"

#include <algorithm>
#include <cstdio>

#include "model/error.h"
#include "reference/calibration.h"
#include "reference/real.h"

namespace gpt2::reference {

namespace {
// Visible (query, key) pairs of one head over T tokens.
double visible_pairs(int T, Mask mask) {
  return mask == Mask::none ? double(T) * T : double(T) * (T + 1) / 2;
}
}  // namespace

Work blocks_work(const Config& c, int T, Mask mask) {
  const double C = c.n_embd, L = c.n_layer, NH = c.n_head;
  Work w;
  w.multiply_adds = L * (T * 12.0 * C * C + 2.0 * C * visible_pairs(T, mask));
  w.transcendentals = L * (T * 4.0 * C + NH * visible_pairs(T, mask));
  return w;
}

Work logits_work(const Config& c, int T) { return Work{double(T) * c.n_embd * c.vocab_size, 0}; }

Work forward_work(const Config& c, int T, Mask mask) {
  Work w = blocks_work(c, T, mask);
  w += logits_work(c, T);
  return w;
}

uint64_t scalar_bytes(Precision precision) {
  switch (precision) {
    case Precision::f32:
      return sizeof(float);
    case Precision::f64:
      return sizeof(double);
    case Precision::digits50:
      return sizeof(Real50);
    case Precision::digits100:
      return sizeof(Real100);
    case Precision::dd:
      return sizeof(DoubleDouble);
  }
  GPT2_CHECK(false, "unknown Precision");
}

uint64_t trace_elements(const Config& c, int T, TraceLevel level) {
  const uint64_t TC = uint64_t(T) * c.n_embd, L = c.n_layer;
  uint64_t n = (L + 2) * TC + uint64_t(T) * c.vocab_size;
  if (level == TraceLevel::ops) n += 11 * L * TC;
  return n;
}

uint64_t run_bytes(const Config& c, int T, Precision precision, TraceLevel level, Mode mode) {
  const uint64_t TC = uint64_t(T) * c.n_embd, L = c.n_layer;
  const uint64_t elements = trace_elements(c, T, level);
  // A block's tensors (x, normed, qkv, q, k, v, a, projected, hidden: 14·T·C)
  // and the incremental mode's cache (2·L·T·C).
  uint64_t working = 14 * TC + (mode == Mode::incremental ? 2 * L * TC : 0);
  return (elements + working) * scalar_bytes(precision) + elements * sizeof(double);
}

uint64_t weight_bytes(const Config& c) { return uint64_t(c.parameter_count()) * sizeof(float); }

Speed calibrate(Precision precision, int threads) {
  switch (precision) {
    case Precision::f32:
      return measure_speed<float>(threads);
    case Precision::f64:
      return measure_speed<double>(threads);
    case Precision::digits50:
      return measure_speed<Real50>(threads);
    case Precision::digits100:
      return measure_speed<Real100>(threads);
    case Precision::dd:
      return measure_speed<DoubleDouble>(threads);
  }
  GPT2_CHECK(false, "unknown Precision");
}

std::optional<TimeEstimate> estimate_time(const Work& work, Precision precision, int threads) {
  // Per thread, faster than any machine this was measured on.
  const double optimistic_ns[] = {0.2, 0.2, 15, 20, 0.5};  // f32, f64, 50, 100, dd
  const double guess =
      work.multiply_adds * optimistic_ns[static_cast<int>(precision)] * 1e-9 / std::max(threads, 1);
  if (guess < 1) return std::nullopt;
  TimeEstimate e;
  e.speed = calibrate(precision, threads);
  e.seconds = e.speed.seconds(work);
  return e;
}

std::string duration_text(double seconds) {
  char text[32];
  if (seconds < 90)
    std::snprintf(text, sizeof text, "%.0f s", seconds);
  else if (seconds < 5400)
    std::snprintf(text, sizeof text, "%.1f min", seconds / 60);
  else
    std::snprintf(text, sizeof text, "%.1f h", seconds / 3600);
  return text;
}

}  // namespace gpt2::reference
