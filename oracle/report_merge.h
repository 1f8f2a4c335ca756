// Conformance reports as JSON, read back: the shards of one run merged into
// the report the whole run would have written (gpt2-oracle report merge),
// and JUnit XML made from any report's JSON, so that a merged report and a
// single run's give the same XML.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gpt2::oracle {

// One shard's report as read: its path (for messages) and its bytes.
struct ReportFile {
  std::string path;
  std::string text;
};

// Merges the reports of shards 1/N .. N/N of one conformance run (written
// by `conformance --shard K/N --json`), given in any order, into the report
// of the whole run: the same keys as format_json (no "shard"), the results
// in the whole run's order, "passed" over all of them, "complete" when every
// shard finished, the plan lines of shard 1. InputError naming the file for
// a report that is not strict JSON or not a shard's report, for reports of
// different runs (model, seed, config, budget rule, plan) and for shards
// missing or given twice (naming them).
nlohmann::ordered_json merge_shard_reports(const std::vector<ReportFile>& files);

// A report's JSON (format_json's, or merged) as format_json writes it.
std::string dump_report_json(const nlohmann::ordered_json& report);

// JUnit XML from a report's JSON: one <testcase> per result for its trace
// ("scenario [kernel]", classname "conformance.KERNEL"), one for a declared
// batch invariance ("batch invariance: ...") and one per replayed op
// ("replay ln_2, block.1: ...", classname "replay.KERNEL"); a failure
// carries the first finding. format_junit is this on format_json's output.
std::string junit_from_json(const nlohmann::ordered_json& report);

}  // namespace gpt2::oracle
