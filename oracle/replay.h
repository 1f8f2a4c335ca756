// Replay: every op of a kernel set run alone on the truth's own inputs.
//
// A trace comparison locates the first finding; the tensors after it inherit
// its error and say nothing of their own arithmetic, so a bug that sits in
// every layer is seen once. Replay feeds each op of each layer the truth's
// input of that op (the 50-digit value rounded to float32), runs that op
// alone through the kernel set's Kernels interface in the passes of the
// scenario (its prefill chunks, then one decode step per token), and compares
// the output with the 50-digit op applied to the same float32 inputs. The
// budget is the op's own (oracle/tolerance.h, with nothing inherited): K × the
// worst error of the baseline ensemble's members applied to the same inputs
// (the reference code at float and in stochastic rounding, the reordered-sum
// kernels) + the floor of the op's terms. Every faulty op in every layer is
// found on its own, and a correct op after a faulty one passes.
//
// The ops are the Kernels interface's (optimized/kernels.h), each producing
// one tensor of the op-level trace (model/trace.h):
//   embed                      -> embed
//   layer_norm ln_1            -> block.{l}.ln_1
//   project qkv                -> block.{l}.qkv
//   attention                  -> block.{l}.attn   (write_cache, then attention)
//   project attn_proj (+x)     -> block.{l}.mid    (accumulating onto the block input)
//   project_gelu fc            -> block.{l}.gelu   (fused where a set fuses it)
//   project mlp_proj (+mid)    -> block.{l}        (accumulating onto mid)
//   layer_norm ln_f            -> ln_f
//   logits                     -> logits
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "optimized/kernels.h"
#include "oracle/metrics.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

enum class ReplayOp {
  embed,
  ln_1,
  qkv,
  attention,
  attn_proj,
  ln_2,
  fc_gelu,
  mlp_proj,
  ln_f,
  logits
};

struct ReplayOpId {
  ReplayOp op = ReplayOp::embed;
  int layer = -1;  // l for the ops of block l; -1 for embed, ln_f, logits
  // "layer_norm ln_2", "project_gelu fc", "attention": the op as the Kernels
  // interface calls it.
  std::string name() const;
  // "ln_2", "fc_gelu", "attention": the op for `gpt2-oracle replay --op`.
  const char* cli_name() const;
  TensorId output() const;  // the trace tensor it produces
  bool operator==(const ReplayOpId&) const = default;
};

// Every op of a model of `n_layer` blocks, in forward order.
std::vector<ReplayOpId> replay_ops(int n_layer);
// An op by its cli_name(); nullopt for any other text.
std::optional<ReplayOp> parse_replay_op(const std::string& text);

// The passes of a scenario over T tokens: a prefill per chunk (sizes in
// order, `mask` among each chunk's queries), then one decode step per
// remaining token.
std::vector<optimized::Pass> scenario_passes(int n_tokens, const std::vector<int>& chunks,
                                             Mask mask);

// The truth side of one op: its float32 inputs, the 50-digit op on them and
// the op's own budget.
struct ReplayCase {
  ReplayOpId id;
  int width = 0;                // columns of the output
  std::vector<float> input;     // [T, in]: the op's input rounded to float32 (none for embed)
  std::vector<float> residual;  // [T, out]: what attn_proj / mlp_proj accumulate onto
  std::vector<double> truth;    // [T, width]: the 50-digit op on those inputs
  Budget budget;                // K·E + floor, nothing inherited
};

// The truth side of replay for one (weights, tokens, mask).
struct ReplayReference {
  std::vector<int> tokens;
  Mask mask = Mask::causal;
  std::vector<ReplayCase> ops;  // replay_ops() order
  int stochastic_runs = 0;      // of the ensemble (tolerance.h)
};

// `truth`: the op-level 50-digit trace of (weights, tokens, mask), rounded to
// double; the inputs are its tensors rounded to float32. `seed` seeds the
// ensemble's stochastic runs and permutation. `only`: the ops to prepare
// (empty: every op). `threads`: for the reference functions' loops (results
// do not depend on it).
ReplayReference compute_replay_reference(const Weights<float>& weights,
                                         const std::vector<int>& tokens, Mask mask,
                                         const Trace<double>& truth, uint64_t seed,
                                         const std::vector<ReplayOpId>& only = {}, int threads = 1);

// A replay reference put together from its parts (one read back from the
// truth cache, oracle/truth_cache.h): the ops of replay_ops(n_layer), each
// with its inputs taken from `truth` as compute_replay_reference takes them,
// its truth (`op_truths[i]`, [T, width]) and budget. InputError naming
// `source` when a part has the wrong size.
ReplayReference assemble_replay_reference(const Config& config, const std::vector<int>& tokens,
                                          Mask mask, const Trace<double>& truth,
                                          std::vector<std::vector<double>> op_truths,
                                          std::vector<Budget> budgets, int stochastic_runs,
                                          const std::string& source);

struct ReplayOpResult {
  ReplayOpId id;
  TensorMetrics metrics;
  Budget budget;
  double ratio = 0;                 // max error / budget (inf when non-finite)
  int first_failing_position = -1;  // lowest row beyond budget or non-finite; -1 if none
  std::vector<int> failing_positions;
  std::vector<int> failing_columns;  // columns beyond budget in the first failing row
  bool beyond = false;
  // For an op beyond budget: the command that replays exactly it on the
  // smallest prefix of the tokens that still fails (set by shrink_replay).
  std::string reproduce;
};

struct ReplayResult {
  std::vector<ReplayOpResult> ops;  // replay_ops() order (or the ops asked for)
  // Non-empty when the kernel set failed to run (optimized::KernelSetFailure:
  // a plugin crashed or hung); ops then holds the ops judged before it.
  std::string failure;
  bool hung = false;  // the failure is a hang (KernelSetFailure::hung)
  bool passed() const;
  double worst_ratio() const;
  // "every op of every layer within budget (worst ratio 0.31 at block.1
  // attention)" or "layer_norm ln_2 beyond budget in blocks 0,1,2,3 (worst
  // ratio 3.1e3 at block.1); ..." (one clause per op beyond budget), then
  // the failure, if any.
  std::string summary() const;
};

// Runs the ops of `ref` through a fresh instance of `set` made from
// `weights` (the weights as given: a set that rounds them does so itself), in
// `passes`, and judges each on `rows` (the positions judged; empty: all).
ReplayResult replay(const Weights<float>& weights, const optimized::KernelSet& set,
                    const ReplayReference& ref, const std::vector<optimized::Pass>& passes,
                    const std::vector<int>& rows = {});

// What a reproducer command needs besides the op: how to name the model on
// the command line ("--model tiny", "--checkpoint DIR"), the scenario's
// prefill chunks, and a truth of any prefix of the tokens.
struct ReplaySource {
  std::string model_flags;
  std::string kernel;
  std::vector<int> chunks;
  // The weights the truth is computed on: the set's effective weights
  // (KernelSet::weights_used; rounded for bf16).
  const Weights<float>* truth_weights = nullptr;
  std::function<Trace<double>(const std::vector<int>& prefix)> truth_of;
  uint64_t seed = 1;
};

// For each op beyond budget in `result`: the smallest prefix of the tokens
// on which that op alone still fails, and the command that replays it there
// (`gpt2-oracle replay ... --op NAME --layer L --rows R,...`), in reproduce.
// `weights`: as given to the set (see replay).
void shrink_replay(ReplayResult& result, const Weights<float>& weights,
                   const optimized::KernelSet& set, const ReplayReference& ref,
                   const ReplaySource& source);

}  // namespace gpt2::oracle
