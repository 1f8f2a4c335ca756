// Mask ablation: what the causal mask does at inference, per tensor and
// position (README.md, "Is the causal mask needed at inference?").
//
// The reference runs the same tokens with Mask::causal and Mask::none; every
// tensor of the trace (embed, block.{l}, ln_f, logits) is compared row by row
// (one row per position). The decode part runs on the optimized engine,
// because only the engine can decode against a cache that an unmasked prefill
// built (the reference's incremental mode builds its cache one position at a
// time, where the mask is a no-op).
#pragma once

#include <string>
#include <vector>

#include "model/trace.h"
#include "model/weights.h"
#include "reference/reference.h"

namespace gpt2::oracle {

// The measure in every cell: for a row a (with the mask) and b (without),
//   ||a - b||_2 / max(||a||_2, ||b||_2),
// a number in [0, 2]. It is exactly 0 when, and only when, the two rows are
// bit-identical at the working precision (compared at that precision, before
// rounding to double); a non-zero difference that would round to 0 is shown
// as the smallest positive double instead.
inline constexpr const char* kRelativeDifferenceFormula =
    "||causal - none|| / max(||causal||, ||none||)";

// One row of the table: one tensor, one number per position.
struct MaskAblationRow {
  std::string tensor;                       // "embed", "block.{l}", "ln_f", "logits"
  std::vector<double> relative_difference;  // [T]
};

// The next-token distribution at one position, with and without the mask.
struct NextTokenChange {
  int argmax_causal = 0;
  int argmax_none = 0;
  double kl_divergence = 0;  // KL(softmax(causal) || softmax(none)), nats
};

// One step of the decode part: step 0 is the last prompt position after the
// prefill; step k >= 1 the logits after decoding continuation[k-1].
struct DecodeStep {
  int token = -1;                  // the token decoded at this step; -1 for step 0 (the prefill)
  double relative_difference = 0;  // of the logits, masked vs unmasked prefill
  NextTokenChange next_token;
  // Steps >= 1: this one-query pass, run on the same (causal) cache with
  // Mask::causal and with Mask::none, gave bit-identical logits.
  bool one_query_pass_identical = true;
};

struct DecodeAblation {
  std::string implementation;     // "optimized engine, kernel fast, float32"
  int room = 0;                   // n_ctx - T: positions left after the prompt
  std::vector<int> continuation;  // the masked run's greedy tokens, fed to both runs
  std::vector<DecodeStep> steps;  // 1 + continuation.size()
};

struct MaskAblation {
  std::string model;  // for reports: preset name or checkpoint directory
  std::vector<int> tokens;
  // [T] each position's token as text, for labels (ill-formed UTF-8 shown as
  // U+FFFD, model/utf8.h; "" for an id without a token), when the model has
  // a tokenizer; empty otherwise. Set by the caller, not by
  // run_mask_ablation.
  std::vector<std::string> token_texts;
  reference::Precision precision = reference::Precision::digits50;
  std::vector<MaskAblationRow> rows;         // forward order: embed, block.0.., ln_f, logits
  std::vector<NextTokenChange> next_tokens;  // [T], from the reference's logits
  DecodeAblation decode;
};

class TruthCache;

struct MaskAblationOptions {
  reference::Precision precision = reference::Precision::digits50;
  // The reference passes' numbers read from, or kept in, this truth cache
  // (oracle/truth_cache.h); nullptr: computed every time.
  const TruthCache* truth_cache = nullptr;
  int threads = 1;              // reference and engine
  bool progress = false;        // the reference's progress lines on stderr
  std::string kernel = "fast";  // the engine's kernel set, for the decode part
  int decode_steps = 4;         // fewer when the context has less room
};

// Runs both reference passes and the decode part. Throws InputError for bad
// tokens or an unknown kernel (before any long computation).
MaskAblation run_mask_ablation(const Weights<float>& weights, const std::vector<int>& tokens,
                               const std::string& model, const MaskAblationOptions& options);

// The relative difference of two rows at scalar Real (see above). Exposed for
// tests; instantiated for float, double, Real50 and Real100.
template <class Real>
double relative_difference(const Real* a, const Real* b, int n);

// The table of two traces of the same tokens (a with a mask, b without):
// per tensor, the relative difference at every position, appended to `rows`;
// the next-token change at every position, appended to `next_tokens`
// (argmax_causal is a's, argmax_none b's). Instantiated for float, double,
// Real50 and Real100 (the difference is taken at Real).
template <class Real>
void compare_ablation_traces(const Trace<Real>& a, const Trace<Real>& b,
                             std::vector<MaskAblationRow>& rows,
                             std::vector<NextTokenChange>& next_tokens);

// The next-token change between two rows of logits: the first with the mask
// (argmax_causal), the second without it (argmax_none), KL(with || without).
// The decode parts of the mask and padding ablations.
NextTokenChange next_token_change(const std::vector<float>& with_mask,
                                  const std::vector<float>& without_mask);

// The reports of a MaskAblation (text, JSON, SVG): mask_ablation_report.h.

}  // namespace gpt2::oracle
