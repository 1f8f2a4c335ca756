#include "oracle/report_merge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "model/error.h"
#include "model/json_strict.h"
#include "model/shard.h"
#include "oracle/report_text.h"

namespace gpt2::oracle {

using report_text::xml_escape;

namespace {

using nlohmann::ordered_json;

// printf of a figure the JSON holds; null (not finite) is written
// `otherwise`: "non-finite" for an error, "inf" for a ratio (a ratio is
// infinite when its tensor is non-finite).
std::string figure(const ordered_json& value, const char* pattern,
                   const char* otherwise = "non-finite") {
  if (!value.is_number()) return otherwise;
  char text[64];
  std::snprintf(text, sizeof text, pattern, value.get<double>());
  return text;
}

std::string integer_text(const ordered_json& value) {
  return value.is_number_integer() ? std::to_string(value.get<int64_t>()) : "-1";
}

std::string tokens_text(const ordered_json& tokens) {
  std::string s;
  if (!tokens.is_array()) return s;
  for (size_t i = 0; i < tokens.size(); ++i) s += (i ? "," : "") + integer_text(tokens[i]);
  return s;
}

// "block.2 gelu" for an op tensor's name "block.2.gelu", the name otherwise
// (compare.h's display_name, from the name alone).
std::string display_tensor_name(const std::string& name) {
  if (name.rfind("block.", 0) != 0) return name;
  const size_t dot = name.find('.', 6);
  if (dot == std::string::npos) return name;
  return name.substr(0, dot) + " " + name.substr(dot + 1);
}

std::string text_of(const ordered_json& object, const char* key) {
  if (!object.is_object()) return "";
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool flag_of(const ordered_json& object, const char* key) {
  if (!object.is_object()) return false;
  const auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

const ordered_json& member(const ordered_json& object, const char* key) {
  static const ordered_json null;
  if (!object.is_object()) return null;
  const auto it = object.find(key);
  return it == object.end() ? null : *it;
}

// One line per tensor that did not pass (report.h's failing_tensor_lines).
std::string failing_tensor_lines(const ordered_json& result) {
  std::string lines;
  for (const auto& t : member(result, "tensors")) {
    const std::string verdict = text_of(t, "verdict");
    if (verdict == "pass" || verdict == "absent") continue;
    const std::string downstream = text_of(t, "downstream_of");
    lines += display_tensor_name(text_of(t, "tensor")) + ": " + verdict + ", max error " +
             figure(member(t, "max_abs_error"), "%.6g") + ", budget " +
             figure(member(t, "budget"), "%.6g") + ", first position " +
             integer_text(member(t, "first_failing_position")) +
             (downstream.empty() ? "" : " (downstream of " + downstream + ")") + "\n";
  }
  return lines;
}

// ---- reading a shard's report -----------------------------------------------------------

struct ShardReport {
  const ReportFile* file = nullptr;
  ordered_json json;
  Shard shard;
  int results_total = 0;
  std::vector<int> indices;
  std::string plan_sha256;
};

[[noreturn]] void refuse(const ReportFile& f, const std::string& what) {
  throw InputError(f.path + ": " + what);
}

int64_t integer_field(const ReportFile& f, const ordered_json& object, const char* key, int64_t low,
                      int64_t high, const char* where) {
  const ordered_json& v = member(object, key);
  if (!v.is_number_integer() || v.get<int64_t>() < low || v.get<int64_t>() > high)
    refuse(f, std::string(where) + key + ": expected an integer from " + std::to_string(low) +
                  " to " + std::to_string(high));
  return v.get<int64_t>();
}

ShardReport read_shard_report(const ReportFile& f) {
  parse_strict_json(f.text, f.path);  // strict syntax, no duplicate keys: throws naming the file
  ShardReport r;
  r.file = &f;
  r.json = ordered_json::parse(f.text);  // the same document, its keys in the file's order
  if (!r.json.is_object()) refuse(f, "expected a conformance report (a JSON object)");
  for (const char* key : {"model", "budget_rule"})
    if (!member(r.json, key).is_string()) refuse(f, std::string(key) + ": expected a string");
  if (!member(r.json, "seed").is_number_unsigned()) refuse(f, "seed: expected an integer");
  if (!member(r.json, "config").is_object()) refuse(f, "config: expected an object");
  for (const char* key : {"passed", "complete"})
    if (!member(r.json, key).is_boolean()) refuse(f, std::string(key) + ": expected true or false");
  const ordered_json& plan = member(r.json, "plan");
  if (!plan.is_array() ||
      !std::all_of(plan.begin(), plan.end(), [](const ordered_json& l) { return l.is_string(); }))
    refuse(f, "plan: expected an array of strings");
  if (r.json.contains("truth")) {  // --precision dd (oracle/report.cpp)
    const ordered_json& truth = member(r.json, "truth");
    if (!truth.is_object() || text_of(truth, "precision") != "dd")
      refuse(f, "truth: expected {\"precision\": \"dd\", ...}");
    integer_field(f, truth, "dd_truths", 0, 1 << 30, "truth.");
    integer_field(f, truth, "dd_min_certified_digits", 0, 50, "truth.");
    integer_field(f, truth, "fell_back_to_50_digits", 0, 1 << 30, "truth.");
  }
  const ordered_json& shard = member(r.json, "shard");
  if (!shard.is_object())
    refuse(f, "not a shard's report (no \"shard\": written by conformance --shard K/N --json)");
  r.shard.count = static_cast<int>(integer_field(f, shard, "count", 1, kMaxShards, "shard."));
  r.shard.index = static_cast<int>(integer_field(f, shard, "index", 1, r.shard.count, "shard."));
  r.results_total =
      static_cast<int>(integer_field(f, shard, "results_total", 0, 1 << 30, "shard."));
  r.plan_sha256 = text_of(shard, "plan_sha256");
  if (r.plan_sha256.size() != 64) refuse(f, "shard.plan_sha256: expected 64 hex digits");
  const ordered_json& indices = member(shard, "result_indices");
  if (!indices.is_array()) refuse(f, "shard.result_indices: expected an array");
  for (const auto& i : indices) {
    if (!i.is_number_integer() || i.get<int64_t>() < 0 || i.get<int64_t>() >= r.results_total ||
        (!r.indices.empty() && i.get<int64_t>() <= r.indices.back()))
      refuse(f, "shard.result_indices: expected ascending integers below results_total (" +
                    std::to_string(r.results_total) + ")");
    r.indices.push_back(static_cast<int>(i.get<int64_t>()));
  }
  const ordered_json& planned = member(r.json, "results_planned");
  if (!planned.is_number_integer() || planned.get<int64_t>() != int64_t(r.indices.size()))
    refuse(f, "results_planned: expected " + std::to_string(r.indices.size()) +
                  " (the shard's result_indices)");
  const ordered_json& results = member(r.json, "results");
  if (!results.is_array()) refuse(f, "results: expected an array");
  const bool complete = member(r.json, "complete").get<bool>();
  if (complete ? results.size() != r.indices.size() : results.size() > r.indices.size())
    refuse(f, "results: " + std::to_string(results.size()) + " results for " +
                  std::to_string(r.indices.size()) + " planned" +
                  (complete ? " in a complete report" : ""));
  for (const auto& result : results)
    if (!result.is_object() || !member(result, "name").is_string() ||
        !member(result, "passed").is_boolean())
      refuse(f, "results: expected objects with a name and passed");
  return r;
}

}  // namespace

ordered_json merge_shard_reports(const std::vector<ReportFile>& files) {
  if (files.empty()) throw InputError("report merge: no reports given");
  std::vector<ShardReport> shards;
  shards.reserve(files.size());
  for (const auto& f : files) shards.push_back(read_shard_report(f));
  const ShardReport& first = shards.front();
  const int count = first.shard.count;
  // Every report must be a shard of the same run.
  for (const auto& s : shards) {
    auto differs = [&](const std::string& what) {
      throw InputError(s.file->path + ": a shard of another run than " + first.file->path + " (" +
                       what + " differs)");
    };
    if (s.shard.count != count)
      differs("the shard count, " + std::to_string(s.shard.count) + " against " +
              std::to_string(count) + ",");
    for (const char* key : {"model", "seed", "config", "budget_rule"})
      if (member(s.json, key) != member(first.json, key)) differs(key);
    if (s.json.contains("truth") != first.json.contains("truth")) differs("the truths' precision");
    if (s.plan_sha256 != first.plan_sha256 || s.results_total != first.results_total)
      differs("the plan");
  }
  // Each shard exactly once.
  std::map<int, const ShardReport*> by_index;
  for (const auto& s : shards) {
    const auto [it, added] = by_index.emplace(s.shard.index, &s);
    if (!added)
      throw InputError("report merge: shard " + s.shard.text() + " given twice (" +
                       it->second->file->path + " and " + s.file->path + ")");
  }
  std::string missing;
  for (int k = 1; k <= count; ++k)
    if (!by_index.count(k)) missing += (missing.empty() ? "" : ", ") + Shard{k, count}.text();
  if (!missing.empty())
    throw InputError("report merge: shard" +
                     std::string(missing.find(',') != std::string::npos ? "s " : " ") + missing +
                     " missing (given " + std::to_string(shards.size()) + " of " +
                     std::to_string(count) + ")");
  // Together they cover the run's results once each.
  std::vector<const ordered_json*> results(first.results_total, nullptr);
  std::vector<const ShardReport*> owner(first.results_total, nullptr);
  bool complete = true;
  for (const auto& [k, s] : by_index) {
    complete = complete && member(s->json, "complete").get<bool>();
    for (int i : s->indices) {
      if (owner[i])
        throw InputError(s->file->path + ": result " + std::to_string(i) + " is also in " +
                         owner[i]->file->path + "'s shard");
      owner[i] = s;
    }
    const ordered_json& shard_results = member(s->json, "results");
    for (size_t j = 0; j < shard_results.size(); ++j) results[s->indices[j]] = &shard_results[j];
  }
  for (int i = 0; i < first.results_total; ++i)
    if (!owner[i])
      throw InputError("report merge: result " + std::to_string(i) + " of the run is in no shard");
  ordered_json merged_results = ordered_json::array();
  bool passed = true;
  for (const ordered_json* r : results) {
    if (!r) continue;  // a shard stopped before it (complete is then false)
    passed = passed && member(*r, "passed").get<bool>();
    merged_results.push_back(*r);
  }
  const ordered_json& lead = by_index.at(1)->json;
  ordered_json j;
  j["model"] = lead["model"];
  j["seed"] = lead["seed"];
  j["config"] = lead["config"];
  j["budget_rule"] = lead["budget_rule"];
  if (lead.contains("truth")) {  // --precision dd: the shards' certificates together
    ordered_json truth = lead["truth"];
    int truths = 0, fallbacks = 0, fewest = 50;
    for (const auto& [k, s] : by_index) {
      const ordered_json& t = member(s->json, "truth");
      truths += member(t, "dd_truths").get<int>();
      fallbacks += member(t, "fell_back_to_50_digits").get<int>();
      fewest = std::min(fewest, member(t, "dd_min_certified_digits").get<int>());
    }
    truth["dd_truths"] = truths;
    truth["dd_min_certified_digits"] = fewest;
    truth["fell_back_to_50_digits"] = fallbacks;
    j["truth"] = truth;
  }
  j["passed"] = passed;
  j["complete"] = complete;
  j["results_planned"] = first.results_total;
  j["plan"] = lead["plan"];
  j["results"] = std::move(merged_results);
  return j;
}

std::string dump_report_json(const ordered_json& report) { return report.dump(2) + "\n"; }

std::string junit_from_json(const ordered_json& report) {
  struct Case {
    std::string classname, name, failure, detail;
  };
  std::vector<Case> cases;
  for (const auto& r : member(report, "results")) {
    const std::string name = text_of(r, "name"), kernel = text_of(r, "kernel");
    const ordered_json& batch = member(r, "batch");
    const std::string row =
        batch.is_object() ? "row " + integer_text(member(batch, "reported_row")) : "";
    Case c{"conformance." + kernel, name, "", ""};
    if (!flag_of(r, "trace_passed")) {
      c.failure = (row.empty() ? "" : row + ": ") + text_of(r, "summary");
      c.detail = (row.empty() ? "" : row + ", ") + "tokens " + tokens_text(member(r, "tokens")) +
                 "\n" + failing_tensor_lines(r);
    }
    cases.push_back(c);
    const ordered_json& invariance = member(batch, "invariance");
    if (flag_of(invariance, "declared")) {
      Case bc{"batch_invariance." + kernel, "batch invariance: " + name, "", ""};
      if (!flag_of(invariance, "invariant")) {
        bc.failure =
            (flag_of(r, "trace_passed") ? "within budget, " : "") + text_of(invariance, "summary");
        const ordered_json& difference_row = member(member(invariance, "first_difference"), "row");
        const ordered_json& rows = member(batch, "rows");
        const int64_t d = difference_row.is_number_integer() ? difference_row.get<int64_t>() : -1;
        bc.detail =
            "tokens of row " + std::to_string(d) + ": " +
            (rows.is_array() && d >= 0 && d < int64_t(rows.size()) ? tokens_text(rows[d]) : "") +
            "\n";
      }
      cases.push_back(bc);
    }
    for (const auto& o : member(member(r, "replay"), "ops")) {
      const std::string op = text_of(o, "op");
      const ordered_json& layer = member(o, "layer");
      Case rc{"replay." + kernel,
              "replay " + op + (layer.is_number_integer() ? ", block." + integer_text(layer) : "") +
                  ": " + name,
              "", ""};
      if (text_of(o, "verdict") != "pass") {
        rc.failure = op + " beyond budget at position " +
                     integer_text(member(o, "first_failing_position")) + ": max error " +
                     figure(member(o, "max_abs_error"), "%.6g") + " > budget " +
                     figure(member(o, "budget"), "%.6g") + " (ratio " +
                     figure(member(o, "ratio"), "%.3g", "inf") + ")";
        const std::string reproduce = text_of(o, "reproduce");
        rc.detail = "tokens " + tokens_text(member(r, "tokens")) + "\n" +
                    (reproduce.empty() ? "" : "reproduce: " + reproduce + "\n");
      }
      cases.push_back(rc);
    }
  }
  int failures = 0;
  for (const auto& c : cases) failures += !c.failure.empty();
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"gpt2-oracle\" tests=\"" + std::to_string(cases.size()) +
         "\" failures=\"" + std::to_string(failures) + "\">\n";
  out += "  <testsuite name=\"conformance." + xml_escape(text_of(report, "model")) + "\" tests=\"" +
         std::to_string(cases.size()) + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\">\n";
  if (!flag_of(report, "complete"))
    out +=
        "    <properties>\n      <property name=\"complete\" value=\"false\"/>\n"
        "      <property name=\"results_done\" value=\"" +
        std::to_string(member(report, "results").size()) +
        "\"/>\n      <property name=\"results_planned\" value=\"" +
        integer_text(member(report, "results_planned")) + "\"/>\n    </properties>\n";
  for (const auto& c : cases) {
    out += "    <testcase classname=\"" + xml_escape(c.classname) + "\" name=\"" +
           xml_escape(c.name) + "\"";
    if (c.failure.empty()) {
      out += "/>\n";
      continue;
    }
    out += ">\n      <failure message=\"" + xml_escape(c.failure) + "\">" + xml_escape(c.detail) +
           "</failure>\n    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace gpt2::oracle
