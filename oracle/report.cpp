#include "oracle/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "model/tokens.h"
#include "oracle/heatmap_svg.h"

namespace gpt2::oracle {

namespace {

nlohmann::ordered_json number(double x) {
  if (std::isfinite(x)) return x;
  return nullptr;
}

}  // namespace

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}


std::string where_text(const TraceComparison& c) {
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

std::string failing_tensor_lines(const TraceComparison& c) {
  std::string lines;
  for (const auto& t : c.tensors)
    if (t.verdict != Verdict::pass && t.verdict != Verdict::absent)
      lines += display_name(t.id) + ": " + verdict_name(t.verdict) + ", max error " +
               (t.non_finite() ? std::string("non-finite") : format("%.6g", t.metrics.max_abs_error)) +
               ", budget " +
               format("%.6g", t.budget.limit()) + ", first position " +
               std::to_string(t.first_failing_position) +
               (t.downstream_of.empty() ? "" : " (downstream of " + t.downstream_of + ")") + "\n";
  return lines;
}

std::string format_table(const ConformanceReport& report) {
  const Config& c = report.config;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line,
                "gpt2-oracle conformance: model %s (n_layer %d, n_head %d, n_embd %d, vocab %d, "
                "context %d), seed %llu\n\n",
                report.model.c_str(), c.n_layer, c.n_head, c.n_embd, c.vocab_size, c.n_ctx,
                static_cast<unsigned long long>(report.seed));
  out += line;
  size_t width = 8;
  for (const auto& r : report.results) width = std::max(width, r.scenario.size());
  std::snprintf(line, sizeof line, "%-*s  %-8s  %11s  %-6s  %s\n", static_cast<int>(width),
                "scenario", "kernel", "worst ratio", "result", "where");
  out += line;
  int passed = 0;
  for (const auto& r : report.results) {
    const bool ok = r.comparison.passed();
    passed += ok;
    std::snprintf(line, sizeof line, "%-*s  %-8s  %11s  %-6s  %s\n", static_cast<int>(width),
                  r.scenario.c_str(), r.kernel.c_str(),
                  format("%.3g", r.comparison.worst_ratio()).c_str(), ok ? "pass" : "FAIL",
                  where_text(r.comparison).c_str());
    out += line;
  }
  out += "\nbudget: " + report.budget_rule + "\n";
  out += "ratio = max error / budget; a tensor fails above 1.\n";
  // The quantization effect of weight-rounding kernel sets, reported only.
  std::map<std::string, std::pair<double, int>> quantization;
  for (const auto& r : report.results) {
    if (!r.weights_changed) continue;
    auto& q = quantization[r.kernel];
    q.first = std::max(q.first, r.quantization_logits_kl);
    q.second += r.quantization_argmax_changes;
  }
  for (const auto& [kernel, q] : quantization) {
    std::snprintf(line, sizeof line,
                  "%s rounds the weights: judged against the truth on the rounded weights; the "
                  "rounding itself moves the true next-token distribution by KL <= %.3g nats "
                  "and changes the argmax at %d positions (reported, not judged)\n",
                  kernel.c_str(), q.first, q.second);
    out += line;
  }
  std::snprintf(line, sizeof line, "result: %d of %zu pass%s\n", passed, report.results.size(),
                report.passed() ? "" : " -- FAIL");
  out += line;
  return out;
}

std::string format_json(const ConformanceReport& report) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["model"] = report.model;
  j["seed"] = report.seed;
  const Config& c = report.config;
  j["config"] = {{"n_layer", c.n_layer},       {"n_head", c.n_head},
                 {"n_embd", c.n_embd},         {"n_positions", c.n_ctx},
                 {"vocab_size", c.vocab_size}, {"layer_norm_epsilon", c.layer_norm_epsilon}};
  j["budget_rule"] = report.budget_rule;
  j["passed"] = report.passed();
  ordered_json results = ordered_json::array();
  for (const auto& r : report.results) {
    ordered_json jr;
    jr["name"] = r.name();
    jr["scenario"] = r.scenario;
    jr["kernel"] = r.kernel;
    jr["mask"] = mask_name(r.mask);
    jr["tokens"] = r.tokens;
    jr["prefill_chunks"] = r.chunks;
    jr["passed"] = r.comparison.passed();
    jr["summary"] = r.comparison.summary();
    jr["worst_ratio"] = number(r.comparison.worst_ratio());
    ordered_json tensors = ordered_json::array();
    for (const auto& t : r.comparison.tensors) {
      ordered_json jt;
      jt["tensor"] = t.name;
      jt["layer"] = t.layer >= 0 ? ordered_json(t.layer) : ordered_json(nullptr);
      jt["verdict"] = verdict_name(t.verdict);
      if (t.verdict == Verdict::absent) {
        tensors.push_back(jt);
        continue;
      }
      if (!t.downstream_of.empty()) jt["downstream_of"] = t.downstream_of;
      const auto& m = t.metrics;
      // A non-finite tensor has no error figure: its first NaN/Inf is located
      // instead, so that no consumer reads a finite-looking error.
      jt["non_finite"] = t.non_finite();
      jt["first_non_finite"] =
          t.non_finite() ? ordered_json{{"index", m.first_non_finite},
                                        {"position", t.non_finite_position()},
                                        {"column", t.non_finite_column()}}
                         : ordered_json(nullptr);
      jt["max_abs_error"] = t.non_finite() ? ordered_json(nullptr) : number(m.max_abs_error);
      jt["budget"] = number(t.budget.limit());
      jt["ratio"] = t.non_finite() ? ordered_json(nullptr) : number(t.ratio);
      jt["baseline_error"] = number(t.budget.baseline_error);
      jt["k"] = t.budget.multiplier;
      jt["floor"] = number(t.budget.floor);
      ordered_json inputs = ordered_json::array();
      for (const auto& e : t.budget.inputs)
        inputs.push_back({{"tensor", r.comparison.tensors.at(e.tensor).name}, {"gain", number(e.gain)}});
      jt["inputs"] = inputs;
      if (t.budget.block_input.tensor >= 0)
        jt["block_input"] = {{"tensor", r.comparison.tensors.at(t.budget.block_input.tensor).name},
                             {"gain", number(t.budget.block_input.gain)}};
      jt["inherited"] = number(t.budget.inherited);
      jt["worst_position"] = t.worst_position;
      jt["first_failing_position"] =
          t.first_failing_position >= 0 ? ordered_json(t.first_failing_position) : nullptr;
      jt["worst_value"] = number(m.worst_value);
      jt["worst_truth"] = number(m.worst_truth);
      jt["scale"] = number(m.scale);
      jt["max_error_to_scale"] = number(m.max_error_to_scale);
      jt["max_relative_error"] = number(m.max_relative_error);
      jt["max_ulp_error"] = number(m.max_ulp_error);
      jt["nmse"] = number(m.nmse);
      jt["cosine"] = number(m.cosine);
      if (!t.logits.empty()) {
        ordered_json positions = ordered_json::array();
        for (const auto& p : t.logits)
          positions.push_back({{"truth_argmax", p.truth_argmax},
                               {"argmax", p.value_argmax},
                               {"argmax_agrees", p.truth_argmax == p.value_argmax},
                               {"truth_margin", number(p.truth_margin)},
                               {"top5_overlap", p.top5_overlap},
                               {"kl_divergence", number(p.kl_divergence)}});
        jt["positions"] = positions;
      }
      tensors.push_back(jt);
    }
    jr["tensors"] = tensors;
    if (r.weights_changed) {
      ordered_json q;
      q["max_truth_change_per_tensor"] = ordered_json::array();
      for (double e : r.quantization_effect) q["max_truth_change_per_tensor"].push_back(number(e));
      q["worst_logits_kl"] = number(r.quantization_logits_kl);
      q["argmax_changes"] = r.quantization_argmax_changes;
      jr["quantization_effect"] = q;
    }
    results.push_back(jr);
  }
  j["results"] = results;
  return j.dump(2) + "\n";
}

std::string format_junit(const ConformanceReport& report) {
  int failures = 0;
  for (const auto& r : report.results) failures += !r.comparison.passed();
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites name=\"gpt2-oracle\" tests=\"" + std::to_string(report.results.size()) +
         "\" failures=\"" + std::to_string(failures) + "\">\n";
  out += "  <testsuite name=\"conformance." + xml_escape(report.model) + "\" tests=\"" +
         std::to_string(report.results.size()) + "\" failures=\"" + std::to_string(failures) +
         "\" errors=\"0\">\n";
  for (const auto& r : report.results) {
    out += "    <testcase classname=\"conformance." + xml_escape(r.kernel) + "\" name=\"" +
           xml_escape(r.name()) + "\"";
    if (r.comparison.passed()) {
      out += "/>\n";
      continue;
    }
    out += ">\n      <failure message=\"" + xml_escape(r.comparison.summary()) + "\">";
    const std::string detail =
        "tokens " + format_tokens(r.tokens) + "\n" + failing_tensor_lines(r.comparison);
    out += xml_escape(detail) + "</failure>\n    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

}  // namespace gpt2::oracle
