#include "oracle/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "model/json_strict.h"
#include "model/tokens.h"
#include "oracle/dd_truth.h"
#include "oracle/heatmap_svg.h"
#include "oracle/report_merge.h"
#include "oracle/report_text.h"

namespace gpt2::oracle {

using report_text::xml_escape;

// The --precision dd line: how the truths were certified (oracle/dd_truth.h).
std::string dd_truth_text(const ConformanceReport& r) {
  std::string out = "double-double (--precision dd): " + std::to_string(r.dd_truths) +
                    " truths certified against 50 digits on (up to) their first " +
                    std::to_string(kDdCheckedTokens) + " positions and an a-priori bound beyond";
  if (r.dd_truths > 0)
    out += ", at least " + std::to_string(r.dd_min_certified_digits) + " digits on every tensor";
  if (r.dd_fallbacks > 0)
    out += "; " + std::to_string(r.dd_fallbacks) + " computed at 50 digits instead (fewer than " +
           std::to_string(kMinDdCertifiedDigits) + " digits certified)";
  return out + "\n";
}

std::string replay_section(const ConformanceReport& report) {
  // Per kernel set, in the order they first appear: either every op of
  // every scenario within budget, or per op beyond budget the blocks it
  // fails in, its worst ratio and the scenarios, and the first reproducer.
  struct Finding {
    std::set<int> layers;
    double worst = 0;
    int worst_layer = -1;
    std::vector<std::string> scenarios;
    std::string reproduce;
  };
  std::vector<std::string> kernels;
  for (const auto& r : report.results)
    if (std::find(kernels.begin(), kernels.end(), r.kernel) == kernels.end())
      kernels.push_back(r.kernel);
  std::string out =
      "\nreplay: every op of every layer run alone on the truth's own inputs (each judged by "
      "its own budget, nothing inherited)\n";
  for (const auto& kernel : kernels) {
    int scenarios = 0, failing = 0;
    double worst = 0;
    std::vector<std::pair<std::string, Finding>> findings;  // by op, in forward order
    for (const auto& r : report.results) {
      if (r.kernel != kernel || !r.replay) continue;
      ++scenarios;
      worst = std::max(worst, r.replay->worst_ratio());
      failing += !r.replay->passed();
      for (const auto& o : r.replay->ops) {
        if (!o.beyond) continue;
        auto it = std::find_if(findings.begin(), findings.end(),
                               [&](const auto& f) { return f.first == o.id.name(); });
        if (it == findings.end()) it = findings.insert(findings.end(), {o.id.name(), Finding{}});
        Finding& f = it->second;
        if (o.id.layer >= 0) f.layers.insert(o.id.layer);
        if (o.ratio > f.worst || f.worst_layer < 0) f.worst = o.ratio, f.worst_layer = o.id.layer;
        if (f.scenarios.empty() || f.scenarios.back() != r.scenario)
          f.scenarios.push_back(r.scenario);
        if (f.reproduce.empty()) f.reproduce = o.reproduce;
      }
    }
    if (scenarios == 0) continue;
    if (failing == 0) {
      out += "  " + kernel + ": every op within budget in " + std::to_string(scenarios) +
             " scenarios (worst ratio " + format("%.3g", worst) + ")\n";
      continue;
    }
    out += "  " + kernel + ": beyond budget in " + std::to_string(failing) + " of " +
           std::to_string(scenarios) + " scenarios\n";
    for (const auto& [op, f] : findings) {
      std::string layers;
      for (int l : f.layers) layers += (layers.empty() ? "" : ",") + std::to_string(l);
      out += "    " + op + " beyond budget" + (layers.empty() ? "" : " in blocks " + layers) +
             " (worst ratio " +
             (std::isfinite(f.worst) ? format("%.3g", f.worst) : "inf: non-finite") +
             (f.worst_layer >= 0 ? " at block." + std::to_string(f.worst_layer) : "") + ") in " +
             std::to_string(f.scenarios.size()) + " scenarios, first " + f.scenarios.front() + "\n";
      if (!f.reproduce.empty()) out += "      reproduce: " + f.reproduce + "\n";
    }
  }
  return out;
}

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string where_text(const TraceComparison& c) {
  if (!c.failure.empty()) return c.failure;
  if (c.passed()) {
    // Worst tensor, for the curious.
    const TensorResult* worst = nullptr;
    for (const auto& t : c.tensors)
      if (t.verdict != Verdict::absent && (!worst || t.ratio > worst->ratio)) worst = &t;
    return worst ? "worst at " + display_name(worst->id) + ", position " +
                       std::to_string(worst->worst_position)
                 : "";
  }
  return c.summary().substr(std::string("FAIL at ").size());
}

std::string result_where_text(const ScenarioResult& r) {
  if (!r.batch) return where_text(r.comparison);
  const BatchResult& b = *r.batch;
  if (r.within_budget_not_batch_invariant()) return "within budget, " + b.invariance_summary();
  std::string where = "row " + std::to_string(b.reported_row) + ": " + where_text(r.comparison);
  if (b.invariance_checked && r.comparison.passed()) where += "; bit-identical to the rows alone";
  return where;
}

std::string failing_tensor_lines(const TraceComparison& c) {
  std::string lines;
  for (const auto& t : c.tensors)
    if (t.verdict != Verdict::pass && t.verdict != Verdict::absent)
      lines +=
          display_name(t.id) + ": " + verdict_name(t.verdict) + ", max error " +
          (t.non_finite() ? std::string("non-finite") : format("%.6g", t.metrics.max_abs_error)) +
          ", budget " + format("%.6g", t.budget.limit()) + ", first position " +
          std::to_string(t.first_failing_position) +
          (t.downstream_of.empty() ? "" : " (downstream of " + t.downstream_of + ")") + "\n";
  return lines;
}

TableWidths table_widths(const std::vector<std::pair<std::string, std::string>>& rows,
                         bool replay) {
  TableWidths w;
  for (const auto& [scenario, kernel] : rows) {
    w.scenario = std::max(w.scenario, static_cast<int>(scenario.size()));
    w.kernel = std::max(w.kernel, static_cast<int>(kernel.size()));
  }
  w.replay = replay;
  return w;
}

std::string format_table_head(const ConformanceReport& report, const TableWidths& w) {
  const Config& c = report.config;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "gpt2-oracle conformance: model %s (n_layer %d, n_head %d, n_embd %d, vocab %d, "
                "context %d), seed %llu\n",
                report.model.c_str(), c.n_layer, c.n_head, c.n_embd, c.vocab_size, c.n_ctx,
                static_cast<unsigned long long>(report.seed));
  out += line;
  for (const auto& p : report.plan) out += p + "\n";
  out += "\n";
  std::snprintf(line, sizeof line, "%-*s  %-*s  %11s  %-6s  %-6s  %s\n", w.scenario, "scenario",
                w.kernel, "kernel", "worst ratio", "trace", w.replay ? "replay" : "", "where");
  out += line;
  return out;
}

std::string format_table_row(const ScenarioResult& r, const TableWidths& w) {
  char line[1024];
  const char* replay = !r.replay ? "" : r.replay->passed() ? "pass" : "FAIL";
  std::snprintf(line, sizeof line, "%-*s  %-*s  %11s  %-6s  %-6s  %s\n", w.scenario,
                r.scenario.c_str(), w.kernel, r.kernel.c_str(),
                format("%.3g", r.comparison.worst_ratio()).c_str(),
                r.comparison.passed() ? "pass" : "FAIL", replay, result_where_text(r).c_str());
  return line;
}

std::string format_table_tail(const ConformanceReport& report) {
  std::string out;
  char line[512];
  const bool any_replay = std::any_of(report.results.begin(), report.results.end(),
                                      [](const ScenarioResult& r) { return r.replay.has_value(); });
  if (std::any_of(report.results.begin(), report.results.end(),
                  [](const ScenarioResult& r) { return r.batch.has_value(); }))
    out +=
        "\nbatch[lengths]+steps padding: the rows' prompts prefilled together in one padded "
        "pass, then decoded together; each row judged against its own single-sequence truth "
        "(\"row r\": the first row with a finding, or the worst); a set that declares batch "
        "invariance is also held to its rows run alone, bit for bit\n";
  if (any_replay) out += replay_section(report);
  if (report.truth_precision == "dd") out += "\ntruth: " + dd_truth_text(report);
  out += "\nbudget: " + report.budget_rule + "\n";
  out += "ratio = max error / budget; a tensor fails above 1.\n";
  // The quantization effect of weight-rounding kernel sets and of precision
  // profiles, reported only: per set, the worst KL, the argmax changes and
  // the largest relative change of any tensor.
  struct Effect {
    std::string profile;
    double kl = 0;
    int argmax_changes = 0;
    double relative = 0;
  };
  std::map<std::string, Effect> quantization;
  for (const auto& r : report.results) {
    if (!r.weights_changed) continue;
    Effect& q = quantization[r.kernel];
    q.profile = r.profile;
    q.kl = std::max(q.kl, r.quantization_logits_kl);
    q.argmax_changes += r.quantization_argmax_changes;
    for (double e : r.quantization_relative_effect) q.relative = std::max(q.relative, e);
  }
  for (const auto& [kernel, q] : quantization) {
    if (q.profile == "f32")
      std::snprintf(line, sizeof line,
                    "%s rounds the weights: judged against the truth on the rounded weights; the "
                    "rounding itself moves the true next-token distribution by KL <= %.3g nats "
                    "and changes the argmax at %d positions (reported, not judged)\n",
                    kernel.c_str(), q.kl, q.argmax_changes);
    else
      std::snprintf(line, sizeof line,
                    "%s is judged under profile %s: against the truth of exact arithmetic given "
                    "the profile's roundings; that arithmetic itself moves the true next-token "
                    "distribution by KL <= %.3g nats, changes the argmax at %d positions and "
                    "some tensor by up to %.3g of its largest value (reported, not judged)\n",
                    kernel.c_str(), q.profile.c_str(), q.kl, q.argmax_changes, q.relative);
    out += line;
  }
  int passed = 0;
  for (const auto& r : report.results) passed += r.passed();
  std::snprintf(line, sizeof line, "result: %d of %zu pass%s\n", passed, report.results.size(),
                report.passed() ? "" : " -- FAIL");
  out += line;
  return out;
}

std::string format_table(const ConformanceReport& report) {
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& r : report.results) rows.emplace_back(r.scenario, r.kernel);
  const bool any_replay = std::any_of(report.results.begin(), report.results.end(),
                                      [](const ScenarioResult& r) { return r.replay.has_value(); });
  const TableWidths w = table_widths(rows, any_replay);
  std::string out = format_table_head(report, w);
  for (const auto& r : report.results) out += format_table_row(r, w);
  return out + format_table_tail(report);
}

nlohmann::ordered_json replay_json(const ReplayResult& replay) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["passed"] = replay.passed();
  j["summary"] = replay.summary();
  j["failure"] = replay.failure.empty() ? ordered_json(nullptr) : ordered_json(replay.failure);
  ordered_json ops = ordered_json::array();
  for (const auto& o : replay.ops) {
    ordered_json jo;
    jo["op"] = o.id.name();
    jo["layer"] = o.id.layer >= 0 ? ordered_json(o.id.layer) : ordered_json(nullptr);
    jo["tensor"] = o.id.output().name();
    const bool non_finite = o.metrics.first_non_finite >= 0;
    jo["verdict"] = !o.beyond ? "pass" : non_finite ? "NON-FINITE" : "FAIL";
    jo["non_finite"] = non_finite;
    jo["max_abs_error"] =
        non_finite ? ordered_json(nullptr) : number_or_null(o.metrics.max_abs_error);
    jo["budget"] = number_or_null(o.budget.limit());
    jo["ratio"] = non_finite ? ordered_json(nullptr) : number_or_null(o.ratio);
    jo["baseline_error"] = number_or_null(o.budget.baseline_error);
    jo["k"] = o.budget.multiplier;
    jo["floor"] = number_or_null(o.budget.floor);
    jo["first_failing_position"] =
        o.first_failing_position >= 0 ? ordered_json(o.first_failing_position) : nullptr;
    jo["failing_positions"] = o.failing_positions;
    jo["failing_columns"] = o.failing_columns;
    jo["reproduce"] = o.reproduce.empty() ? ordered_json(nullptr) : ordered_json(o.reproduce);
    ops.push_back(jo);
  }
  j["ops"] = ops;
  return j;
}

namespace {

using nlohmann::ordered_json;

// One tensor of a result's "tensors": its verdict and, unless absent, every
// figure of its metrics and budget (a non-finite tensor: its first NaN/Inf
// instead of an error figure). `comparison` names the budget's inputs.
ordered_json tensor_json(const TensorResult& t, const TraceComparison& comparison) {
  ordered_json jt;
  jt["tensor"] = t.name;
  jt["layer"] = t.layer >= 0 ? ordered_json(t.layer) : ordered_json(nullptr);
  jt["verdict"] = verdict_name(t.verdict);
  if (t.verdict == Verdict::absent) return jt;
  if (!t.downstream_of.empty()) jt["downstream_of"] = t.downstream_of;
  const auto& m = t.metrics;
  // A non-finite tensor has no error figure: its first NaN/Inf is located
  // instead, so that no consumer reads a finite-looking error.
  jt["non_finite"] = t.non_finite();
  jt["first_non_finite"] = t.non_finite() ? ordered_json{{"index", m.first_non_finite},
                                                         {"position", t.non_finite_position()},
                                                         {"column", t.non_finite_column()}}
                                          : ordered_json(nullptr);
  jt["max_abs_error"] = t.non_finite() ? ordered_json(nullptr) : number_or_null(m.max_abs_error);
  jt["budget"] = number_or_null(t.budget.limit());
  jt["ratio"] = t.non_finite() ? ordered_json(nullptr) : number_or_null(t.ratio);
  jt["baseline_error"] = number_or_null(t.budget.baseline_error);
  jt["k"] = t.budget.multiplier;
  jt["floor"] = number_or_null(t.budget.floor);
  ordered_json inputs = ordered_json::array();
  for (const auto& e : t.budget.inputs)
    inputs.push_back(
        {{"tensor", comparison.tensors.at(e.tensor).name}, {"gain", number_or_null(e.gain)}});
  jt["inputs"] = inputs;
  if (t.budget.block_input.tensor >= 0)
    jt["block_input"] = {{"tensor", comparison.tensors.at(t.budget.block_input.tensor).name},
                         {"gain", number_or_null(t.budget.block_input.gain)}};
  if (t.budget.flip_allowance > 0) jt["flip_allowance"] = number_or_null(t.budget.flip_allowance);
  jt["inherited"] = number_or_null(t.budget.inherited);
  jt["worst_position"] = t.worst_position;
  jt["first_failing_position"] =
      t.first_failing_position >= 0 ? ordered_json(t.first_failing_position) : nullptr;
  jt["worst_value"] = number_or_null(m.worst_value);
  jt["worst_truth"] = number_or_null(m.worst_truth);
  jt["scale"] = number_or_null(m.scale);
  jt["max_error_to_scale"] = number_or_null(m.max_error_to_scale);
  jt["max_relative_error"] = number_or_null(m.max_relative_error);
  jt["max_ulp_error"] = number_or_null(m.max_ulp_error);
  jt["nmse"] = number_or_null(m.nmse);
  jt["cosine"] = number_or_null(m.cosine);
  if (!t.logits.empty()) {
    ordered_json positions = ordered_json::array();
    for (const auto& p : t.logits)
      positions.push_back({{"truth_argmax", p.truth_argmax},
                           {"argmax", p.value_argmax},
                           {"argmax_agrees", p.truth_argmax == p.value_argmax},
                           {"truth_margin", number_or_null(p.truth_margin)},
                           {"top5_overlap", p.top5_overlap},
                           {"kl_divergence", number_or_null(p.kl_divergence)}});
    jt["positions"] = positions;
  }
  return jt;
}

// A batch scenario's "batch": its rows, every row's result, the declared
// invariance and its first difference, the verdict.
ordered_json batch_json(const ScenarioResult& r) {
  const BatchResult& b = *r.batch;
  ordered_json jb;
  jb["padding"] = padding_name(b.padding);
  jb["rows"] = b.rows;
  jb["prompt_lengths"] = b.prompt_lengths;
  jb["reported_row"] = b.reported_row;
  ordered_json rows = ordered_json::array();
  for (size_t i = 0; i < b.comparisons.size(); ++i)
    rows.push_back({{"row", i},
                    {"passed", b.comparisons[i].passed()},
                    {"worst_ratio", number_or_null(b.comparisons[i].worst_ratio())},
                    {"summary", b.comparisons[i].summary()}});
  jb["row_results"] = rows;
  ordered_json inv;
  inv["declared"] = b.invariance_checked;
  inv["invariant"] = b.invariance_checked ? ordered_json(b.invariant) : ordered_json(nullptr);
  inv["summary"] = b.invariance_summary();
  if (b.difference)
    inv["first_difference"] = {{"row", b.difference_row},
                               {"tensor", b.difference->id.name()},
                               {"position", b.difference->position},
                               {"column", b.difference->column},
                               {"batch_value", number_or_null(b.difference->a)},
                               {"single_value", number_or_null(b.difference->b)}};
  jb["invariance"] = inv;
  jb["verdict"] = !r.comparison.passed()                  ? "FAIL"
                  : r.within_budget_not_batch_invariant() ? "within budget, not batch-invariant"
                                                          : "pass";
  return jb;
}

// The effect of a set's weight rounding on the truth (reported, not judged).
ordered_json quantization_json(const ScenarioResult& r) {
  ordered_json q;
  q["max_truth_change_per_tensor"] = ordered_json::array();
  for (double e : r.quantization_effect)
    q["max_truth_change_per_tensor"].push_back(number_or_null(e));
  q["worst_logits_kl"] = number_or_null(r.quantization_logits_kl);
  q["argmax_changes"] = r.quantization_argmax_changes;
  if (r.profile != "f32") {  // f32 reports stay as they were
    q["max_relative_change_per_tensor"] = ordered_json::array();
    for (double e : r.quantization_relative_effect)
      q["max_relative_change_per_tensor"].push_back(number_or_null(e));
    q["argmax_change_positions"] = r.quantization_argmax_positions;
  }
  return q;
}

// One scenario x kernel of "results".
ordered_json result_json(const ScenarioResult& r) {
  ordered_json jr;
  jr["name"] = r.name();
  jr["scenario"] = r.scenario;
  jr["kernel"] = r.kernel;
  if (r.profile != "f32") jr["profile"] = r.profile;  // f32 reports stay as they were
  jr["mask"] = mask_name(r.mask);
  jr["tokens"] = r.tokens;
  jr["prefill_chunks"] = r.chunks;
  jr["passed"] = r.passed();
  jr["trace_passed"] = r.comparison.passed();
  jr["summary"] = r.comparison.summary();
  // The set failed to run (a plugin crashed or hung): no tensor was judged.
  jr["failure"] =
      r.comparison.failure.empty() ? ordered_json(nullptr) : ordered_json(r.comparison.failure);
  jr["worst_ratio"] = number_or_null(r.comparison.worst_ratio());
  ordered_json tensors = ordered_json::array();
  for (const auto& t : r.comparison.tensors) tensors.push_back(tensor_json(t, r.comparison));
  jr["tensors"] = tensors;
  if (r.replay) jr["replay"] = replay_json(*r.replay);
  if (r.batch) jr["batch"] = batch_json(r);
  if (r.weights_changed && !r.quantization_effect.empty())
    jr["quantization_effect"] = quantization_json(r);
  return jr;
}

}  // namespace

std::string format_json(const ConformanceReport& report) {
  ordered_json j;
  j["model"] = report.model;
  j["seed"] = report.seed;
  const Config& c = report.config;
  j["config"] = {{"n_layer", c.n_layer},       {"n_head", c.n_head},
                 {"n_embd", c.n_embd},         {"n_positions", c.n_ctx},
                 {"vocab_size", c.vocab_size}, {"layer_norm_epsilon", c.layer_norm_epsilon}};
  j["budget_rule"] = report.budget_rule;
  if (report.truth_precision == "dd") {  // absent for 50-digit truths (as before the dd tier)
    j["truth"] = {{"precision", "dd"}};
    j["truth"]["dd_truths"] = report.dd_truths;
    j["truth"]["dd_min_certified_digits"] = report.dd_min_certified_digits;
    j["truth"]["fell_back_to_50_digits"] = report.dd_fallbacks;
  }
  j["passed"] = report.passed();
  j["complete"] = report.complete;
  j["results_planned"] =
      report.planned_results >= 0 ? ordered_json(report.planned_results) : ordered_json(nullptr);
  j["plan"] = report.plan;
  if (report.shard) {
    const ShardOfRun& s = *report.shard;
    j["shard"] = {{"shard", s.shard.text()},
                  {"index", s.shard.index},
                  {"count", s.shard.count},
                  {"results_total", s.results_total},
                  {"result_indices", s.result_indices},
                  {"plan_sha256", s.plan_sha256}};
  }
  ordered_json results = ordered_json::array();
  for (const auto& r : report.results) results.push_back(result_json(r));
  j["results"] = results;
  return j.dump(2) + "\n";
}

std::string format_junit(const ConformanceReport& report) {
  // From the JSON, as `report merge` makes the XML of a merged report: one
  // code path, so a merged run's XML is the same as a single run's.
  return junit_from_json(nlohmann::ordered_json::parse(format_json(report)));
}

}  // namespace gpt2::oracle
