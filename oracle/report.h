// Conformance reports: a table for people, JSON with every figure, JUnit XML
// for CI systems.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "oracle/conformance.h"
#include "oracle/replay.h"

namespace gpt2::oracle {

// printf of one number, for report cells: format("%.3g", x).
std::string format(const char* pattern, double value);

// The "where" cell of a report row: the first finding's location, or the
// worst tensor when everything passes.
std::string where_text(const TraceComparison& comparison);

// The "where" cell of a result: where_text, and for a batch scenario the
// row ("row 1: block.0 attn, position 0: ...") or, within budget, a broken
// batch invariance ("within budget, not batch-invariant: row 1 differs ...").
std::string result_where_text(const ScenarioResult& result);

// One line per tensor that did not pass: verdict, max error, budget, first
// failing position and what it is downstream of (a JUnit failure's body).
std::string failing_tensor_lines(const TraceComparison& comparison);

// One row per scenario × kernel: worst ratio to budget, the trace's and
// replay's verdicts and, for a failure, where it is; then replay's findings
// per kernel set, and a footer with the budget rule and the verdict.
// format_table is format_table_head + a format_table_row per result +
// format_table_tail, which a run prints as it goes (each row once judged).
std::string format_table(const ConformanceReport& report);

// Column widths of the table: from the (scenario, kernel) names its rows
// will have.
struct TableWidths {
  int scenario = 8;
  int kernel = 8;
  bool replay = false;
};
TableWidths table_widths(const std::vector<std::pair<std::string, std::string>>& rows, bool replay);
// The title (model, config, seed), the plan's lines when there are any, a
// blank line and the column headers.
std::string format_table_head(const ConformanceReport& report, const TableWidths& widths);
std::string format_table_row(const ScenarioResult& result, const TableWidths& widths);
// Replay's findings, the budget rule, the quantization effect, the verdict.
std::string format_table_tail(const ConformanceReport& report);

// Every figure: per result, per tensor the metrics, budget and verdict, and
// per logits position argmax, margin, top-5 overlap and KL; "complete"
// (false in a report written while the run goes on: the results so far)
// and "results_planned"; for one shard of a run, "shard" (K/N, the whole
// run's result count, this shard's indices into it and the whole plan's
// sha256), which `report merge` checks. Strict JSON: non-finite numbers are
// written as null.
std::string format_json(const ConformanceReport& report);

// One replay as JSON: passed, summary and one entry per op (op, layer,
// tensor, verdict, figures, failing positions and columns, reproducer).
nlohmann::ordered_json replay_json(const ReplayResult& replay);

// Replay's findings per kernel set (the section under the table).
std::string replay_section(const ConformanceReport& report);

// JUnit XML: one <testcase> per scenario × kernel for the trace, named
// "scenario [kernel]", with a <failure> carrying the first finding when it
// fails; and, when replayed, one per op and layer ("replay layer_norm ln_2,
// block.1: scenario [kernel]", classname "replay.KERNEL") with its
// reproducer. A report of a run still going says so in its properties
// (complete = false, results_done, results_planned).
std::string format_junit(const ConformanceReport& report);

}  // namespace gpt2::oracle
