// The reference GPT-2: a slow, obviously correct, high-precision forward pass
// that every other number in gpt2-oracle is measured against.
//
// This header is light (no Boost): it is what the CLI and the oracle include
// to run the reference at a precision chosen at run time. The templated
// forward pass itself, and the 50- and 100-digit scalar types, are declared
// in reference/forward.h.
#pragma once

#include <string>
#include <vector>

#include "model/batch.h"
#include "model/modes.h"
#include "model/profile.h"
#include "model/trace.h"
#include "model/weights.h"

namespace gpt2::reference {

class Team;  // reference/team.h

// The scalar the reference computes in: float, double, Boost.Multiprecision
// types of 50 (the truth, docs/architecture.md) and 100 significant decimal
// digits (the check on the truth's own accuracy; reference/real.h), or
// double-double (~32 digits, the fast truth tier, checked against 50 digits:
// reference/double_double.h and oracle/dd_truth.h).
enum class Precision { f32, f64, digits50, digits100, dd };

// "f32", "f64", "50", "100", "dd" (the CLI's --precision); InputError otherwise.
Precision parse_precision(const std::string& text);
const char* precision_name(Precision precision);  // "f32", "f64", "50", "100", "dd"

struct Options {
  // Mask::causal: query position i sees keys 0..i; Mask::none: every key of
  // the pass. The only difference is whether scores above the diagonal take
  // part (reference/attention.h).
  Mask mask = Mask::causal;
  // Mode::full: all T positions in one pass. Mode::incremental: one position
  // at a time against a key/value cache kept at the reference's own
  // precision (in this mode there are no future keys, so the mask is a
  // no-op). Mode::chunked is an engine mode; the reference rejects it with an
  // InputError.
  Mode mode = Mode::full;
  // Worker threads; 0 = std::thread::hardware_concurrency(). Results are
  // bit-identical for every thread count (reference/parallel.h).
  int threads = 0;
  // Progress lines on stderr (block, position, elapsed seconds).
  bool progress = false;
  // TraceLevel::ops: the trace also carries the six tensors inside every
  // block (model/trace.h).
  TraceLevel trace_level = TraceLevel::blocks;
  // Batches only (forward_batch, run_batch): whether the padding mask hides
  // the padding columns' keys (model/batch.h). false is an ablation: padding
  // keys visible like real ones, the position ids unchanged.
  bool padding_mask = true;
  // The ranks a 50- or 100-digit pass is split across, tensor-parallel
  // (reference/team.h; an MPI job, reference/mpi_team.h); nullptr: this
  // process alone. Every rank must make the same calls with the same
  // arguments. float, double, other scalars and batches ignore it.
  const Team* team = nullptr;
  // The precision profile (model/profile.h) the pass computes under: the
  // activations are rounded at exactly the profile's points (residual,
  // matmul_inputs, kv_cache, attention_probs, gelu table_f16; once, to
  // nearest, ties to even, from Real's own value; reference/rounding.h) and
  // everything else is at Real's precision: "exact arithmetic, given the
  // profile's roundings". nullptr, or a profile whose points are all f32
  // (is_f32()), rounds nothing: the bits of a pass without a profile. A
  // point at f32 is no rounding point at any Real.
  // The reference does not round weights: under a profile whose `weights` or
  // `norms_and_biases` point rounds, pass round_weights(weights, *profile)
  // (model/profile.h) as the weights. Not owned; outlives the call.
  const Profile* profile = nullptr;
};

// Runs the reference at `precision` on `weights` (kept as they are: only
// activations, the cache and sums are at `precision`; under options.profile
// the caller passes them rounded, see Options::profile) and returns the trace
// rounded to double. Throws InputError for bad tokens (an id outside the vocabulary, an
// empty list or more tokens than n_ctx; the message names the token index)
// or Mode::chunked.
Trace<double> run(const Weights<float>& weights, const std::vector<int>& tokens,
                  Precision precision, const Options& options = {});

// A padded batch (model/batch.h) at `precision` in one full pass (forward_batch
// in reference/forward.h): one trace per row, its real tokens only, rounded to
// double. Throws InputError for a bad batch (naming the row).
std::vector<Trace<double>> run_batch(const Weights<float>& weights,
                                     const std::vector<std::vector<int>>& rows, Padding padding,
                                     Precision precision, const Options& options = {});

}  // namespace gpt2::reference
