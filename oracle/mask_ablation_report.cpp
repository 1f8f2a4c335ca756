// The mask ablation's reports for people and tools (mask_ablation_report.h):
// the table and the sentences read off its numbers, the JSON, the SVG
// heatmap. The numbers themselves are computed in mask_ablation.cpp.
#include "oracle/mask_ablation_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "model/json_strict.h"
#include "model/tokens.h"
#include "model/utf8.h"
#include "oracle/heatmap_svg.h"
#include "oracle/report_text.h"

namespace gpt2::oracle {

using namespace report_text;

namespace {

// ---- reading the numbers ----------------------------------------------------

// The first row (forward order) where position t differs; -1 when none does.
int first_change(const MaskAblation& a, int t) {
  for (size_t r = 0; r < a.rows.size(); ++r)
    if (a.rows[r].relative_difference[t] != 0) return static_cast<int>(r);
  return -1;
}

// True when, from its first change on, position t differs in every row.
bool stays_changed(const MaskAblation& a, int t) {
  const int f = first_change(a, t);
  if (f < 0) return true;
  for (size_t r = f; r < a.rows.size(); ++r)
    if (a.rows[r].relative_difference[t] == 0) return false;
  return true;
}

std::string tokens_text(const std::vector<int>& tokens) { return format_tokens(tokens); }

std::string next_token_text(const NextTokenChange& c) {
  std::string s = "KL(causal || none) = " + sci(c.kl_divergence) + " nats; the argmax ";
  if (c.argmax_causal == c.argmax_none)
    return s + "is token " + std::to_string(c.argmax_causal) + " with and without the mask";
  return s + "changes from token " + std::to_string(c.argmax_causal) + " to token " +
         std::to_string(c.argmax_none);
}

// Sentences about the earlier positions, the last position and the
// next-token distribution, each computed from the table.
std::vector<std::string> findings(const MaskAblation& a) {
  std::vector<std::string> lines;
  const int T = static_cast<int>(a.tokens.size());
  const std::string precision = precision_words(a.precision);
  if (T == 1) {
    lines.push_back(first_change(a, 0) < 0
                        ? "With one token there is no earlier position: every tensor is "
                          "bit-identical with and without the mask."
                        : "With one token there is no earlier position, yet position 0 changes "
                          "from " +
                              a.rows[first_change(a, 0)].tensor + " on.");
  } else {
    // Earlier positions, grouped by the row where they first change.
    std::vector<std::string> groups;
    bool all_stay = true;
    int start = 0;
    for (int t = 1; t <= T - 1; ++t) {
      if (t < T - 1 && first_change(a, t) == first_change(a, start)) continue;
      const int f = first_change(a, start);
      const std::string who = positions_text(start, t - 1);
      groups.push_back(f < 0 ? who + " never changes"
                             : who + " change" + (start == t - 1 ? "s" : "") + " from " +
                                   a.rows[f].tensor + " on");
      start = t;
    }
    for (int t = 0; t < T - 1; ++t) all_stay = all_stay && stays_changed(a, t);
    std::string s = "Without the mask, earlier positions see later tokens: " + join(groups, "; ") +
                    (all_stay ? ", and stay changed through logits."
                              : " (some become bit-identical again later: see the table).");
    s[0] = static_cast<char>(std::toupper(s[0]));
    lines.push_back(s);
    const int changed_argmax = static_cast<int>(
        std::count_if(a.next_tokens.begin(), a.next_tokens.end() - 1,
                      [](const NextTokenChange& c) { return c.argmax_causal != c.argmax_none; }));
    lines.push_back("The predicted next token changes at " + std::to_string(changed_argmax) +
                    " of the " + std::to_string(T - 1) + " earlier positions.");
  }
  // The last position.
  const int last = T - 1;
  const int f = first_change(a, last);
  const int n_unchanged = f < 0 ? static_cast<int>(a.rows.size()) : f;
  std::vector<std::string> unchanged;
  unchanged.reserve(n_unchanged);
  for (int r = 0; r < n_unchanged; ++r) unchanged.push_back(a.rows[r].tensor);
  std::string s = "The last position (" + std::to_string(last) + ") ";
  const bool block0_changes = a.rows.size() > 1 && a.rows[1].relative_difference[last] != 0;
  if (f < 0) {
    s += "is bit-identical at " + precision + " in every tensor.";
  } else if (block0_changes) {
    s += "already changes in block.0, where its query sees every key with or without the "
         "mask: unexpected (check the attention).";
  } else {
    s += "is bit-identical at " + precision + " in " + join(unchanged, " and ") +
         " (its query sees every key either way) and changes from " + a.rows[f].tensor +
         " on, through the earlier positions it attends to.";
  }
  lines.push_back(s);
  lines.push_back("Next-token distribution at the last position: " +
                  next_token_text(a.next_tokens[last]) + ".");
  return lines;
}

std::vector<std::string> decode_findings(const DecodeAblation& d, int n_ctx) {
  std::vector<std::string> lines;
  const int n = static_cast<int>(d.continuation.size());
  if (n == 0) {
    lines.push_back("The prompt fills the context (" + std::to_string(n_ctx) +
                    " positions): no token can be decoded.");
    return lines;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  std::vector<std::string> same, greedy_changes, not_identical;
  for (int k = 0; k <= n; ++k) {
    const DecodeStep& s = d.steps[k];
    const NextTokenChange& c = s.next_token;
    if (c.argmax_causal != c.argmax_none)
      greedy_changes.push_back(
          (k == 0 ? std::string("after the prompt") : "at step " + std::to_string(k)) + " (" +
          std::to_string(c.argmax_causal) + " with the mask, " + std::to_string(c.argmax_none) +
          " without)");
    if (k == 0) continue;
    if (s.relative_difference == 0) same.push_back(std::to_string(k));
    lo = std::min(lo, s.relative_difference);
    hi = std::max(hi, s.relative_difference);
    if (!s.one_query_pass_identical) not_identical.push_back(std::to_string(k));
  }
  if (same.empty()) {
    lines.push_back("The continuation's logits differ at every decode step (relative difference " +
                    sci(lo) + " to " + sci(hi) +
                    "): the cache built by an unmasked prefill is not the cache that "
                    "incremental decoding builds.");
  } else if (static_cast<int>(same.size()) == n) {
    lines.push_back(
        "The continuation's logits are bit-identical at every decode step: here the "
        "unmasked prefill built the same cache.");
  } else {
    lines.push_back("The continuation's logits are bit-identical at step(s) " + join(same, ", ") +
                    " and differ by up to " + sci(hi) + " at the others.");
  }
  lines.push_back(greedy_changes.empty()
                      ? "The greedy choice is the same with and without the mask after the "
                        "prompt and at every step."
                      : "The greedy choice differs " + join(greedy_changes, "; ") + ".");
  lines.push_back(
      not_identical.empty()
          ? "A single decode step (one query against the cache) run with and without the mask "
            "gives bit-identical logits at all " +
                std::to_string(n) + " steps: there is no future key to hide."
          : "A single decode step run with and without the mask differs at step(s) " +
                join(not_identical, ", ") + ": unexpected (check the engine's attention).");
  return lines;
}

}  // namespace

// ---- reports ----------------------------------------------------------------

std::string format_mask_ablation(const MaskAblation& a) {
  const int T = static_cast<int>(a.tokens.size());
  const std::string precision = precision_words(a.precision);
  std::string s = "mask-ablation: model " + a.model + ", tokens " + tokens_text(a.tokens) +
                  " (T = " + std::to_string(T) + "), reference at " + precision + "\n";
  s += wrap("Each cell: " + std::string(kRelativeDifferenceFormula) +
            " over the tensor's row at that position, for the reference run with and without "
            "the causal mask; 0 = bit-identical at " +
            precision + ".") +
       "\n";

  size_t name_width = 8;
  for (const MaskAblationRow& r : a.rows) name_width = std::max(name_width, r.tensor.size() + 2);
  constexpr size_t kCell = 9;
  s += pad_right("", name_width) + "position\n";
  std::string header = pad_right("tensor", name_width);
  for (int t = 0; t < T; ++t) header += pad_left(std::to_string(t), kCell);
  s += header + "\n";
  if (!a.token_texts.empty()) {
    std::string labels = pad_right("token", name_width);
    for (const std::string& text : a.token_texts) labels += token_cell(text, kCell);
    s += labels + "\n";
  }
  for (const MaskAblationRow& r : a.rows) {
    std::string line = pad_right(r.tensor, name_width);
    for (double x : r.relative_difference) line += pad_left(sci(x), kCell);
    s += line + "\n";
  }
  s += "\n";
  for (const std::string& line : findings(a)) s += wrap(line);

  const DecodeAblation& d = a.decode;
  std::string intro = "Decode (" + d.implementation +
                      "; the reference cannot decode on a cache built by an unmasked prefill): "
                      "the prompt prefilled with and without the mask, then ";
  if (d.continuation.empty()) {
    s += "\n" + wrap(intro + "no token decoded.");
  } else {
    s += "\n" +
         wrap(intro + "the masked run's greedy continuation " + tokens_text(d.continuation) +
              " decoded against each cache.") +
         "\n";
    s += "step    token  rel. difference  KL(causal || none)  argmax causal / none  "
         "one query, causal vs none\n";
    for (size_t k = 0; k < d.steps.size(); ++k) {
      const DecodeStep& st = d.steps[k];
      std::string line = pad_right(k == 0 ? "prompt" : std::to_string(k), 6);
      line += pad_left(st.token < 0 ? "-" : std::to_string(st.token), 7);
      line += pad_left(sci(st.relative_difference), 17);
      line += pad_left(sci(st.next_token.kl_divergence), 20);
      line += pad_left(std::to_string(st.next_token.argmax_causal) + " / " +
                           std::to_string(st.next_token.argmax_none),
                       22);
      line += "  " + std::string(k == 0                        ? "-"
                                 : st.one_query_pass_identical ? "bit-identical"
                                                               : "DIFFERENT");
      s += line + "\n";
    }
  }
  s += "\n";
  const int n_ctx = T + d.room;
  for (const std::string& line : decode_findings(d, n_ctx)) s += wrap(line);
  return s;
}

namespace {

nlohmann::ordered_json next_token_json(const NextTokenChange& c) {
  return {{"argmax_causal", c.argmax_causal},
          {"argmax_none", c.argmax_none},
          {"kl_divergence", number_or_null(c.kl_divergence)}};
}

}  // namespace

std::string mask_ablation_json(const MaskAblation& a) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["model"] = a.model;
  j["tokens"] = a.tokens;
  if (!a.token_texts.empty()) j["token_text"] = a.token_texts;
  j["precision"] = reference::precision_name(a.precision);
  j["measure"] = kRelativeDifferenceFormula;
  ordered_json rows = ordered_json::array();
  for (const MaskAblationRow& r : a.rows) {
    ordered_json values = ordered_json::array();
    for (double x : r.relative_difference) values.push_back(number_or_null(x));
    rows.push_back({{"tensor", r.tensor}, {"relative_difference", values}});
  }
  j["rows"] = rows;
  ordered_json next = ordered_json::array();
  for (const NextTokenChange& c : a.next_tokens) next.push_back(next_token_json(c));
  j["next_token"] = next;
  const int last = static_cast<int>(a.tokens.size()) - 1;
  const int f = first_change(a, last);
  ordered_json last_position = next_token_json(a.next_tokens[last]);
  last_position["position"] = last;
  last_position["changes_from"] = f < 0 ? ordered_json(nullptr) : ordered_json(a.rows[f].tensor);
  j["last_position"] = last_position;

  const DecodeAblation& d = a.decode;
  ordered_json steps = ordered_json::array();
  bool all_identical = true;
  double max_difference = 0;
  for (size_t k = 0; k < d.steps.size(); ++k) {
    const DecodeStep& st = d.steps[k];
    ordered_json step = {{"step", k},
                         {"token", st.token < 0 ? ordered_json(nullptr) : ordered_json(st.token)},
                         {"relative_difference", number_or_null(st.relative_difference)}};
    step.update(next_token_json(st.next_token));
    step["one_query_pass_identical"] =
        k == 0 ? ordered_json(nullptr) : ordered_json(st.one_query_pass_identical);
    steps.push_back(step);
    if (k > 0) {
      all_identical = all_identical && st.one_query_pass_identical;
      max_difference = std::max(max_difference, st.relative_difference);
    }
  }
  j["decode"] = {{"implementation", d.implementation},
                 {"room", d.room},
                 {"continuation", d.continuation},
                 {"steps", steps},
                 {"max_relative_difference",
                  d.continuation.empty() ? ordered_json(nullptr) : number_or_null(max_difference)},
                 {"single_step_identical",
                  d.continuation.empty() ? ordered_json(nullptr) : ordered_json(all_identical)}};
  return j.dump(2) + "\n";
}

std::string mask_ablation_svg(const MaskAblation& a) {
  Heatmap h;
  h.title =
      "Causal mask ablation: model " + a.model + ", reference at " + precision_words(a.precision);
  h.x_label = "position";
  h.y_label = "tensor";
  h.subtitle = std::string("each cell: ") + kRelativeDifferenceFormula +
               " over the row, with vs without the causal mask";
  h.value_label = "relative difference";
  for (size_t t = 0; t < a.tokens.size(); ++t)
    h.column_labels.push_back(
        std::to_string(t) + (a.token_texts.empty() ? "" : " " + token_label(a.token_texts[t], 12)));
  for (const MaskAblationRow& r : a.rows) {
    h.row_labels.push_back(r.tensor);
    h.values.push_back(r.relative_difference);
  }
  return heatmap_svg(h);
}

}  // namespace gpt2::oracle
