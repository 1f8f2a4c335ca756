// The conformance suite: every scenario × every registered kernel set of the
// optimized engine, judged against the reference by the error budget.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/modes.h"
#include "model/profile.h"
#include "model/shard.h"
#include "model/weights.h"
#include "optimized/kernels.h"
#include "oracle/budget.h"
#include "oracle/compare.h"
#include "oracle/replay.h"

namespace gpt2::oracle {

class TruthCache;
struct ConformanceReport;

// One way of running the engine over a token sequence: prefill the first
// tokens in `chunks` (sizes, in order; one chunk = a plain prefill), then
// decode the remaining tokens one at a time. The truth is the reference's
// full recomputation with `mask` (in decode steps the mask is a no-op).
struct Scenario {
  std::string name;  // printable, doubles as a filter: "chunked[2x3]+decode T=7"
  std::vector<int> tokens;
  std::vector<int> chunks;
  Mask mask = Mask::causal;
  // On the weights as given, or scaled to GPT-2's activations
  // (with_gpt2_activations, model/checkpoint.h; "act=gpt2" in the name).
  bool gpt2_activations = false;

  // A batch scenario ("batch[5,1,3]+2 left"): rows of their own tokens, the
  // first prompt_lengths[r] of each prefilled together in one padded pass
  // (model/batch.h), then the rest decoded one token per row per step.
  // `tokens` and `chunks` are unused; each row is judged against the
  // reference's single-sequence truth of its own tokens (causal).
  // Both empty in any other scenario (the {} lets one be written
  // {name, tokens, chunks, mask} without -Wmissing-field-initializers).
  std::vector<std::vector<int>> batch{};
  std::vector<int> prompt_lengths{};
  Padding padding = Padding::left;
  bool is_batch() const { return !batch.empty(); }
};

// The batch scenarios of a model, from `seed`: ragged rows prefilled
// together, left and right padded, then decoded together, B = 3 and B = 8
// (fewer and shorter where the context is small).
std::vector<Scenario> batch_scenarios(const Config& config, uint64_t seed);

// The built-in scenarios for a model: for sequences of length 1, a few and
// the full context (token ids from `seed`, always including 0 and V-1 when
// there is room): full prefill, incremental decode (a 1-token prompt, then
// one token at a time), chunked prefill with several splits then decode, and
// a prefill without the mask against the reference without the mask. For a
// preset (`preset` true: random weights, activations far smaller than a real
// GPT-2's), the T = 7 scenarios again on the preset scaled to GPT-2's
// activations ("act=gpt2"): bugs that only show at those scales (the erf
// GELU, an approximate exp, eps outside the root) are caught there. Then the
// batch scenarios (batch_scenarios).
std::vector<Scenario> default_scenarios(const Config& config, uint64_t seed, bool preset = false);

// The lengths of default_scenarios' sequences: 1, min(n_ctx, 7), n_ctx.
std::vector<int> default_lengths(const Config& config);

// The scenarios of default_scenarios over one sequence of T tokens (drawn
// from `seed` as there): prefill; for T > 1 incremental; for T >= 3 the two
// chunked splits; for T > 1 prefill without the mask. With
// `gpt2_activations`, the same on the weights scaled to GPT-2's activations
// (" act=gpt2" in each name). default_scenarios is these groups, for each of
// default_lengths, then (for a preset) the second length's at act=gpt2.
std::vector<Scenario> scenarios_of_length(const Config& config, uint64_t seed, int T,
                                          bool gpt2_activations = false);

// What a batch scenario found beyond each row's own comparison.
struct BatchResult {
  Padding padding = Padding::left;
  std::vector<std::vector<int>> rows;
  std::vector<int> prompt_lengths;
  // Row r's trace against its single-sequence truth, for every row.
  std::vector<TraceComparison> comparisons;
  // The row whose comparison is ScenarioResult::comparison: the first row
  // with a finding, or the row with the worst ratio when all pass.
  int reported_row = 0;
  // For a kernel set that declares batch invariance: every row's trace
  // against the row run alone by the same set, bit for bit.
  bool invariance_checked = false;
  bool invariant = true;
  int difference_row = -1;                  // the first row that differs,
  std::optional<BitDifference> difference;  // and where
  // "batch-invariant: every row bit-identical to its single run" or "not
  // batch-invariant: row 1 differs from its single run at block.0 qkv,
  // position 0, column 3 (0.1234 vs 0.1235)".
  std::string invariance_summary() const;
};

struct ScenarioResult {
  std::string scenario;
  std::string kernel;
  Mask mask = Mask::causal;
  std::vector<int> tokens;
  std::vector<int> chunks;  // prefill chunk sizes; the rest was decoded
  TraceComparison comparison;
  // Every op of every layer run alone on the truth's inputs (oracle/replay.h),
  // when replay was asked for; not under a profile that rounds activations
  // (Profile::rounds_arithmetic: the replayed ops' truths do not round yet).
  std::optional<ReplayResult> replay;
  // The precision profile the set was judged under (model/profile.h): its
  // own (KernelSet::profile) or ConformanceOptions::profile.
  std::string profile = "f32";
  // The set computes on rounded weights (bf16) or under a profile other than f32.
  bool weights_changed = false;
  // When weights_changed: per tensor, max |truth(rounded weights, profile) -
  // truth(original weights, f32)|: what the declared arithmetic itself does
  // to the model ("the engine is right for its arithmetic; its arithmetic
  // moves the model this much"), reported, not judged. The relative form
  // divides by the f32 truth's max |value| on that tensor.
  std::vector<double> quantization_effect;
  std::vector<double> quantization_relative_effect;
  double quantization_logits_kl = 0;  // worst KL(truth original || truth rounded) per position
  int quantization_argmax_changes = 0;
  std::vector<int> quantization_argmax_positions;  // where the next-token argmax changes
  // A batch scenario's rows and invariance (then `comparison` is the
  // reported row's, and `tokens` that row's tokens).
  std::optional<BatchResult> batch;
  std::string name() const { return scenario + " [" + kernel + "]"; }
  // Within budget everywhere, but a declared batch invariance broken: the
  // verdict "within budget, not batch-invariant".
  bool within_budget_not_batch_invariant() const {
    return comparison.passed() && batch && batch->invariance_checked && !batch->invariant;
  }
  bool passed() const {
    return comparison.passed() && (!replay || replay->passed()) &&
           !within_budget_not_batch_invariant();
  }
};

struct ConformanceOptions {
  std::string model;  // for reports: preset name or checkpoint directory
  uint64_t seed = 1;
  int threads = 1;
  // Empty: every registered set the float32 rule judges (float32_kernel_sets).
  std::vector<std::string> kernels;
  std::string filter;  // run only scenarios whose name() contains this
  // ops: the engine's op tensors are judged too (model/trace.h); blocks:
  // embed, block.{l}, ln_f and logits only.
  TraceLevel trace_level = TraceLevel::ops;
  bool progress = false;  // one line per result on stderr
  // After each trace comparison, replay every op alone (oracle/replay.h).
  bool replay = true;
  // The command-line options that name the model, for replay's reproducer
  // commands ("--model tiny"); the scaled variant adds " --activations gpt2".
  std::string model_flags = "--model tiny";
  // Where truths are kept between runs (oracle/truth_cache.h); nullptr: none.
  const TruthCache* truth_cache = nullptr;
  // The truths at 50 digits (default) or double-double (oracle/dd_truth.h).
  TruthPrecision truth_precision;
  // Judge every set under this precision profile (conformance --profile);
  // unset: each set under its own (KernelSet::profile).
  std::optional<Profile> profile;
  // Called after each result is judged, with the report so far (the new
  // result last): for tables printed row by row and reports written as the
  // run goes.
  std::function<void(const ConformanceReport&)> on_result;
};

// What a shard's report is a part of (conformance --shard K/N): the whole
// run's results, in order, and which of them this shard judged, so that
// `report merge` can put the shards back together and check that every
// shard planned the same run.
struct ShardOfRun {
  Shard shard;
  int results_total = 0;            // results of the whole run (every shard)
  std::vector<int> result_indices;  // this shard's, into the whole run's, ascending
  std::string plan_sha256;          // of the whole run's result names, one per line
};

struct ConformanceReport {
  std::string model;
  uint64_t seed = 0;
  Config config;
  std::string budget_rule;
  // The plan's lines (oracle/plan.h), when the run was planned.
  std::vector<std::string> plan;
  std::vector<ScenarioResult> results;
  // Results the run set out to judge (-1: not known); false while the run
  // is still going (a report written as it goes: the results so far).
  int planned_results = -1;
  bool complete = true;
  // The truths' precision: "50", or "dd" (--precision dd, oracle/dd_truth.h)
  // with how many truths were certified at double-double, their fewest
  // certified digits on any tensor, and how many fell back to 50 digits.
  std::string truth_precision = "50";
  int dd_truths = 0;
  int dd_min_certified_digits = 50;
  int dd_fallbacks = 0;
  // Set for one shard of a run (conformance --shard): then `results` and
  // planned_results are this shard's.
  std::optional<ShardOfRun> shard;
  bool passed() const;
};

// Runs `scenarios` against every selected kernel set on `weights`.
ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options);
// The same on `sets` (registered or not; options.kernels is ignored): how a
// test or an outside project checks a set it holds (gpt2_oracle/testing.h).
ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options,
                                  const std::vector<const optimized::KernelSet*>& sets);

}  // namespace gpt2::oracle
