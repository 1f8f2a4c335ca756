// What a reference run costs, from the shape alone, and how fast this
// machine does the work: the estimates printed (and the memory checked)
// before any long run.
//
// Work is counted in the units that dominate the reference's time: products
// (multiply-adds of the projections, the attention and the logits) and
// transcendental functions (a tanh per hidden unit, an exp per visible
// attention score), each costing ~50 multiply-adds at 50 digits. Speed is
// measured, not assumed: calibrate() runs the reference's own linear() and
// gelu_new at the chosen scalar on this machine's threads for a fraction of
// a second.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "model/config.h"
#include "model/modes.h"
#include "model/trace.h"
#include "reference/reference.h"

namespace gpt2::reference {

struct Work {
  double multiply_adds = 0;
  double transcendentals = 0;  // tanh and exp
  Work& operator+=(const Work& o) {
    multiply_adds += o.multiply_adds;
    transcendentals += o.transcendentals;
    return *this;
  }
  Work operator*(double k) const { return {multiply_adds * k, transcendentals * k}; }
  Work operator+(const Work& o) const {
    return {multiply_adds + o.multiply_adds, transcendentals + o.transcendentals};
  }
};

// One forward pass over T tokens (full and incremental mode do the same
// arithmetic):  per token and block 12·C² (c_attn 3C², c_proj C², c_fc 4C²,
// mlp c_proj 4C²), C·V for the logits; attention 2·C per visible (query,
// key) pair (scores and weighted sum, all heads) and NH exps per pair;
// 4C tanh per token and block.
Work forward_work(const Config& config, int T, Mask mask);
// The same without the logits (the blocks alone) and the logits alone.
Work blocks_work(const Config& config, int T, Mask mask);
Work logits_work(const Config& config, int T);

// Bytes of one scalar of each precision (Real50: 56, Real100: 80: MPFR
// numbers with their digits inline).
uint64_t scalar_bytes(Precision precision);

// Elements of a trace of T tokens at `level`: (L + 2)·T·C + T·V, plus
// 11·L·T·C for the op tensors.
uint64_t trace_elements(const Config& config, int T, TraceLevel level);

// Bytes a reference::run holds at its peak besides the weights: the trace
// at `precision`, its copy in double, the block's working tensors and, in
// incremental mode, the key/value cache.
uint64_t run_bytes(const Config& config, int T, Precision precision, TraceLevel level, Mode mode);

// Bytes of a model's weights as the reference and the engine hold them
// (float: 4 per parameter).
uint64_t weight_bytes(const Config& config);

// Wall seconds per unit of work on `threads` threads.
struct Speed {
  double multiply_add_seconds = 0;
  double transcendental_seconds = 0;
  double seconds(const Work& w) const {
    return w.multiply_adds * multiply_add_seconds + w.transcendentals * transcendental_seconds;
  }
};

// Measures Speed at `precision` on `threads` threads (about 0.1 s).
Speed calibrate(Precision precision, int threads);

// A run estimated to take at least this long is a long run: its estimate is
// printed before it starts.
inline constexpr double kLongRunSeconds = 10;

// The wall time of `work` at `precision` on `threads`, calibrated; nullopt,
// without calibrating, when even a fast machine (15 ns per 50-digit
// multiply-add per thread) would take under a second: such a run is not
// worth a tenth of a second of calibration.
struct TimeEstimate {
  double seconds = 0;
  Speed speed;
};
std::optional<TimeEstimate> estimate_time(const Work& work, Precision precision, int threads);

// "40 s", "12.5 min", "3.2 h".
std::string duration_text(double seconds);

}  // namespace gpt2::reference
