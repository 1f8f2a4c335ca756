// Comparison of a whole trace against the truth, tensor by tensor in forward
// order, each judged by its error budget (oracle/tolerance.h). Reports the
// first failure (tensor, layer, position, error, budget, ratio); every later
// tensor that the first finding can reach is marked downstream (its budget
// inherited the finding's error, so its verdict says nothing of its own
// arithmetic) unless it fails where the finding cannot reach, which is a new
// finding.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/modes.h"
#include "model/trace.h"
#include "oracle/metrics.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

enum class Verdict {
  pass,        // max error within budget
  fail,        // a finding: beyond budget and not explained by an earlier failure
  downstream,  // after (causally) an earlier finding: beyond budget or not, not its own verdict
  non_finite,  // NaN or Inf where the truth is finite (a finding)
  absent,      // the trace under test does not carry this tensor (fixtures --trace)
};
const char* verdict_name(Verdict verdict);

struct TensorResult {
  std::string name;  // "embed", "block.3.gelu", "block.3", "ln_f", "logits"
  TensorId id;
  int layer = -1;  // id.layer: l for the tensors of block l; -1 otherwise
  TensorMetrics metrics;
  Budget budget;
  double ratio = 0;                 // metrics.max_abs_error / budget.limit() (inf when non-finite)
  int worst_position = 0;           // row of metrics.worst_index
  int first_failing_position = -1;  // lowest row beyond budget (or non-finite); -1 if none
  Verdict verdict = Verdict::pass;
  std::string downstream_of;                 // the finding this tensor follows from
  std::vector<LogitPositionMetrics> logits;  // for "logits" only
  int columns = 0;                           // of the tensor: C, 3C, 4C or V
  bool non_finite() const { return metrics.first_non_finite >= 0; }
  // Where the first NaN/Inf is (when non_finite()): its row and column.
  int non_finite_position() const { return static_cast<int>(metrics.first_non_finite / columns); }
  int non_finite_column() const { return static_cast<int>(metrics.first_non_finite % columns); }
};

// "block.2 gelu" for an op tensor, the tensor's name otherwise (for text).
std::string display_name(const TensorId& id);

struct TraceComparison {
  std::vector<TensorResult> tensors;  // forward order
  int first_finding = -1;             // index into tensors, -1 when all pass
  // Non-empty when there was no trace to compare: the kernel set failed to
  // run (optimized::KernelSetFailure, e.g. "crashed (signal 11) in block.0
  // attention (prefill of positions 0-6)"); no tensor is judged then.
  std::string failure;
  bool passed() const { return first_finding < 0 && failure.empty(); }
  // Over tensors judged on their own (not absent, not downstream); infinite
  // after a failure.
  double worst_ratio() const;
  // One line: "pass (worst ratio 0.31 at block.1, position 2)", "FAIL at
  // block.0 gelu, position 3: max error 1.2e-05 > budget 3.1e-07 (ratio
  // 38.7)" or "FAIL: crashed (signal 11) in block.0 attention (...)".
  std::string summary() const;
};

// value: the implementation's trace; truth: the 50-digit reference rounded to
// double; budgets: one per tensor of the truth (forward order,
// trace_tensor_ids(L, truth.level())). `mask` decides which later failures
// are downstream: with Mask::causal an error at position p reaches only
// positions >= p of later tensors, so a later failure at an earlier position
// is a new finding; with Mask::none an error reaches every position.
// `present` (optional, one flag per truth tensor) marks tensors the trace
// under test carries; a truth op tensor is also absent when `value` is a
// block-level trace. Absent tensors are skipped (Verdict::absent) and hand on
// their inputs' excess (tolerance.h).
TraceComparison compare_traces(const Trace<double>& value, const Trace<double>& truth,
                               const std::vector<Budget>& budgets, Mask mask,
                               const std::vector<bool>& present = {},
                               BudgetRule rule = BudgetRule::excess_over_baseline);

// Where two traces of the same shapes first differ in any bit, in forward
// order (row-major within a tensor): a batch row against the row run alone,
// for a kernel set that declares batch invariance.
struct BitDifference {
  TensorId id;
  int position = 0;  // the row
  int column = 0;
  double a = 0, b = 0;  // the two values there
};
std::optional<BitDifference> first_bit_difference(const Trace<double>& a, const Trace<double>& b);

// The max error of `value` against `truth` for each tensor the two carry in
// common, in truth's forward order (NaN/Inf count as infinite error). When
// `value` is block-level and `truth` op-level, the op tensors get NaN.
std::vector<double> max_errors(const Trace<double>& value, const Trace<double>& truth);

// max |value| of each tensor of `trace`, in its forward order.
std::vector<double> max_abs_per_tensor(const Trace<double>& trace);

}  // namespace gpt2::oracle
