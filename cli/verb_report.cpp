// gpt2-oracle report merge: the reports of a conformance run's shards (each
// CI runner's `conformance --shard K/N --json`) put back together into the
// report of the whole run, as JSON and JUnit XML.
#include <cstdio>
#include <memory>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "oracle/report_merge.h"

namespace gpt2::cli {

namespace {

struct MergeArgs {
  std::vector<std::string> reports;
  std::string json;
  std::string junit;
};

// The largest shard report read: far beyond any run's (a few MB for the
// full plan on gpt2-124m-shape), far below what would exhaust memory.
constexpr uint64_t kMaxReportBytes = 1ull << 30;

int merge(const MergeArgs& a) {
  nlohmann::ordered_json merged;
  const std::vector<Output> outputs = {
      {"--json", a.json, [&] { return oracle::dump_report_json(merged); }},
      {"--junit", a.junit, [&] { return oracle::junit_from_json(merged); }}};
  check_outputs(outputs);
  std::vector<oracle::ReportFile> files;
  for (const auto& path : a.reports) files.push_back({path, read_file(path, kMaxReportBytes)});
  merged = oracle::merge_shard_reports(files);
  int passed = 0;
  for (const auto& r : merged["results"]) passed += r["passed"].get<bool>();
  const bool complete = merged["complete"].get<bool>();
  std::printf("merged %zu shard reports of conformance on %s: %d of %d results pass%s%s\n",
              files.size(), merged["model"].get<std::string>().c_str(), passed,
              merged["results_planned"].get<int>(),
              complete ? "" : " (incomplete: a shard stopped)",
              merged["passed"].get<bool>() && complete ? "" : " -- FAIL");
  std::fflush(stdout);
  return write_outputs(merged["passed"].get<bool>() && complete ? 0 : 1, outputs);
}

}  // namespace

Verb add_report_verb(CLI::App& app) {
  CLI::App* command =
      app.add_subcommand("report", "Conformance reports: merge the shards of one run");
  command->require_subcommand(1);
  auto m = std::make_shared<MergeArgs>();
  CLI::App* merge_command = command->add_subcommand(
      "merge",
      "Merge the JSON reports of shards 1/N..N/N of one conformance run (conformance --shard "
      "K/N --json) into the whole run's report. A shard missing or given twice, or reports of "
      "different runs, are bad input (exit 2); exit 1 when a merged result fails or a shard "
      "stopped before its end");
  merge_command->add_option("reports", m->reports, "The shards' JSON reports, in any order")
      ->required();
  merge_command->add_option("--json", m->json, "Write the merged report as JSON");
  merge_command->add_option("--junit", m->junit, "Write the merged report as JUnit XML");
  return Verb{command, [m, merge_command] {
                if (merge_command->parsed()) return merge(*m);
                throw InputError("report: expected merge");
              }};
}

}  // namespace gpt2::cli
