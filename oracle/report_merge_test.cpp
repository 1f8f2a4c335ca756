#include "oracle/report_merge.h"

#include <gtest/gtest.h>

#include "model/config.h"
#include "model/error.h"
#include "oracle/report.h"

namespace gpt2::oracle {
namespace {

// A run of `total` results named r0, r1, ...; shard k of n holds the
// results i with i % n == k - 1 (how they are dealt out does not matter to
// the merge: the report says which).
ConformanceReport whole_run(int total) {
  ConformanceReport report;
  report.model = "tiny";
  report.seed = 1;
  report.config = make_config(2, 2, 8, 8, 16);
  report.budget_rule = "rule";
  report.plan = {"plan line"};
  report.planned_results = total;
  for (int i = 0; i < total; ++i) {
    ScenarioResult r;
    r.scenario = "s" + std::to_string(i);
    r.kernel = "k";
    r.tokens = {i};
    if (i == 2) r.comparison.failure = "crashed";  // one failing result
    report.results.push_back(r);
  }
  return report;
}

ReportFile shard_file(const ConformanceReport& whole, int k, int n, const std::string& sha = "") {
  ConformanceReport part = whole;
  part.results.clear();
  ShardOfRun s;
  s.shard = {k, n};
  s.results_total = static_cast<int>(whole.results.size());
  s.plan_sha256 = sha.empty() ? std::string(64, 'a') : sha;
  for (int i = 0; i < s.results_total; ++i)
    if (i % n == k - 1) {
      s.result_indices.push_back(i);
      part.results.push_back(whole.results[i]);
    }
  part.planned_results = static_cast<int>(s.result_indices.size());
  part.shard = s;
  return {"shard" + std::to_string(k) + ".json", format_json(part)};
}

std::string merge_error(const std::vector<ReportFile>& files) {
  try {
    merge_shard_reports(files);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(merged)";
}

TEST(ReportMerge, ShardsInAnyOrderGiveTheWholeRunsReport) {
  const ConformanceReport whole = whole_run(7);
  const auto merged = merge_shard_reports(
      {shard_file(whole, 3, 3), shard_file(whole, 1, 3), shard_file(whole, 2, 3)});
  EXPECT_EQ(dump_report_json(merged), format_json(whole));
  EXPECT_EQ(junit_from_json(merged), format_junit(whole));
  EXPECT_FALSE(merged["passed"].get<bool>());
}

TEST(ReportMerge, AShardMissingOrGivenTwiceIsNamed) {
  const ConformanceReport whole = whole_run(7);
  EXPECT_EQ(merge_error({shard_file(whole, 1, 3), shard_file(whole, 3, 3)}),
            "report merge: shard 2/3 missing (given 2 of 3)");
  EXPECT_EQ(merge_error({shard_file(whole, 2, 4)}),
            "report merge: shards 1/4, 3/4, 4/4 missing (given 1 of 4)");
  ReportFile again = shard_file(whole, 2, 3);
  again.path = "again.json";
  EXPECT_EQ(merge_error(
                {shard_file(whole, 1, 3), shard_file(whole, 2, 3), again, shard_file(whole, 3, 3)}),
            "report merge: shard 2/3 given twice (shard2.json and again.json)");
}

TEST(ReportMerge, ShardsOfDifferentRunsAreRefused) {
  const ConformanceReport whole = whole_run(7);
  ConformanceReport other = whole;
  other.seed = 2;
  EXPECT_EQ(merge_error({shard_file(whole, 1, 2), shard_file(other, 2, 2)}),
            "shard2.json: a shard of another run than shard1.json (seed differs)");
  EXPECT_EQ(merge_error({shard_file(whole, 1, 2), shard_file(whole, 2, 2, std::string(64, 'b'))}),
            "shard2.json: a shard of another run than shard1.json (the plan differs)");
  EXPECT_NE(merge_error({shard_file(whole, 1, 2), shard_file(whole, 2, 3)}).find("shard count"),
            std::string::npos);
}

TEST(ReportMerge, AnythingButAShardsReportIsRefusedNamingTheFile) {
  const ConformanceReport whole = whole_run(3);
  EXPECT_EQ(merge_error({{"plain.json", format_json(whole)}}),
            "plain.json: not a shard's report (no \"shard\": written by conformance --shard K/N "
            "--json)");
  EXPECT_EQ(merge_error({{"bad.json", "{"}}).rfind("bad.json: ", 0), 0u);
  EXPECT_EQ(merge_error({{"array.json", "[]"}}),
            "array.json: expected a conformance report (a JSON object)");
  ReportFile f = shard_file(whole, 1, 1);
  const size_t at = f.text.find("\"result_indices\"");
  ASSERT_NE(at, std::string::npos);
  f.text.replace(at, std::string("\"result_indices\"").size(), "\"result_indexes\"");
  EXPECT_EQ(merge_error({f}), "shard1.json: shard.result_indices: expected an array");
  EXPECT_EQ(merge_error({}), "report merge: no reports given");
}

TEST(ReportMerge, AnIncompleteShardMakesAnIncompleteMerge) {
  const ConformanceReport whole = whole_run(6);
  ReportFile first = shard_file(whole, 1, 2);
  // Shard 1 stopped after its first result.
  auto j = nlohmann::ordered_json::parse(first.text);
  j["complete"] = false;
  j["results"].erase(j["results"].begin() + 1, j["results"].end());
  first.text = j.dump(2);
  const auto merged = merge_shard_reports({first, shard_file(whole, 2, 2)});
  EXPECT_FALSE(merged["complete"].get<bool>());
  EXPECT_EQ(merged["results"].size(), 4u);
  EXPECT_NE(junit_from_json(merged).find("name=\"complete\" value=\"false\""), std::string::npos);
}

}  // namespace
}  // namespace gpt2::oracle
