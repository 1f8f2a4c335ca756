// Comparison of a whole trace against the truth, tensor by tensor in forward
// order, each judged by its error budget (oracle/tolerance.h). Reports the
// first failure (tensor, layer, position, error, budget, ratio); a later
// failure that the first one can explain is marked downstream, not counted
// as a new finding.
#pragma once

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
  downstream,  // beyond budget, but at or after (causally) an earlier finding
  non_finite,  // NaN or Inf where the truth is finite (a finding)
  absent,      // the trace under test does not carry this tensor (fixtures --trace)
};
const char* verdict_name(Verdict verdict);

struct TensorResult {
  std::string name;  // "embed", "block.3", "ln_f", "logits"
  int layer = -1;    // l for block.{l}; -1 otherwise
  TensorMetrics metrics;
  Budget budget;
  double ratio = 0;              // metrics.max_abs_error / budget.limit()
  int worst_position = 0;        // row of metrics.worst_index
  int first_failing_position = -1;  // lowest row beyond budget (or non-finite); -1 if none
  Verdict verdict = Verdict::pass;
  std::string downstream_of;     // the finding this failure follows from
  std::vector<LogitPositionMetrics> logits;  // for "logits" only
};

struct TraceComparison {
  std::vector<TensorResult> tensors;  // forward order
  int first_finding = -1;             // index into tensors, -1 when all pass
  bool passed() const { return first_finding < 0; }
  double worst_ratio() const;
  // One line: "pass (worst ratio 0.31 at block.1)" or "FAIL at block.0 (layer 0), position 3:
  // max error 1.2e-05 > budget 3.1e-07 (ratio 38.7)".
  std::string summary() const;
};

// value: the implementation's trace; truth: the 50-digit reference rounded to
// double; budgets: per tensor (forward order), K·E + floor (see tolerance.h
// and Reference::budgets in baseline.h). `mask` decides
// which later failures are downstream: with Mask::causal an error at
// position p reaches only positions >= p of later tensors, so a later
// failure at an earlier position is a new finding; with Mask::none an error
// reaches every position. `present` (optional, forward order) marks tensors
// the trace under test carries; absent ones are skipped.
TraceComparison compare_traces(const Trace<double>& value, const Trace<double>& truth,
                               const std::vector<Budget>& budgets, Mask mask,
                               const std::vector<bool>& present = {});

// The names of a trace's tensors in forward order, and the max error of
// `value` against `truth` for each (NaN/Inf count as infinite error).
std::vector<std::string> trace_tensor_names(int n_layer);
std::vector<double> max_errors(const Trace<double>& value, const Trace<double>& truth);

}  // namespace gpt2::oracle
