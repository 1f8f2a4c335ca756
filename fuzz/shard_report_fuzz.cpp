// libFuzzer target: shard reports read by `report merge`. Any input, merged
// as one report or beside a valid shard, gives a merged report whose JSON
// and JUnit can be written, or an InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/error.h"
#include "oracle/report_merge.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const std::string other =
      R"({"model":"tiny","seed":1,"config":{},"budget_rule":"r","passed":true,"complete":true,)"
      R"("results_planned":1,"plan":[],"shard":{"shard":"2/2","index":2,"count":2,)"
      R"("results_total":2,"result_indices":[1],"plan_sha256":")" +
      std::string(64, 'a') + R"("},"results":[{"name":"b","passed":true}]})";
  for (int with_other = 0; with_other < 2; ++with_other) {
    std::vector<gpt2::oracle::ReportFile> files = {{"fuzz.json", text}};
    if (with_other) files.push_back({"other.json", other});
    try {
      const auto merged = gpt2::oracle::merge_shard_reports(files);
      gpt2::oracle::dump_report_json(merged);
      gpt2::oracle::junit_from_json(merged);
    } catch (const gpt2::InputError&) {
    }
  }
  return 0;
}
