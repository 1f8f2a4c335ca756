#include "oracle/padding_ablation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "model/error.h"
#include "model/json_strict.h"
#include "model/tokens.h"
#include "optimized/engine.h"
#include "oracle/heatmap_svg.h"
#include "oracle/metrics.h"
#include "oracle/report_text.h"
#include "reference/forward.h"

namespace gpt2::oracle {

using namespace report_text;

namespace {

// The batch of the ablation: the row, and a row `padding_columns` tokens
// longer (the row's tokens again, cycled) that gives it its padding. Rows
// never see each other, so the second row's tokens do not matter.
std::vector<std::vector<int>> ablation_batch(const std::vector<int>& tokens, int padding_columns) {
  std::vector<int> longer(tokens.size() + padding_columns);
  for (size_t i = 0; i < longer.size(); ++i) longer[i] = tokens[i % tokens.size()];
  return {tokens, longer};
}

template <class Real>
void reference_passes(const Weights<float>& weights, const std::vector<std::vector<int>>& batch,
                      const PaddingAblationOptions& options, PaddingAblation& out) {
  reference::Options masked;
  masked.threads = options.threads;
  masked.progress = options.progress;
  reference::Options unmasked = masked;
  unmasked.padding_mask = false;
  const Trace<Real> a = reference::forward_batch<Real>(weights, batch, out.padding, masked)[0];
  const Trace<Real> b = reference::forward_batch<Real>(weights, batch, out.padding, unmasked)[0];
  compare_ablation_traces(a, b, out.rows, out.next_tokens);
}

int argmax(std::span<const float> v) {
  return static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
}

// The decode part on the engine (see padding_ablation.h).
void decode_part(const Weights<float>& weights, const std::vector<std::vector<int>>& batch,
                 const PaddingAblationOptions& options, PaddingAblation& out) {
  using optimized::Engine;
  const optimized::KernelSet& set = optimized::find_kernel(options.kernel);
  const int V = weights.config.vocab_size;
  DecodeAblation& d = out.decode;
  d.implementation = "optimized engine, kernel " + set.name + ", float32";
  d.room = weights.config.n_ctx - static_cast<int>(batch[1].size());  // the longer row's
  const int n = std::max(0, std::min(options.decode_steps, d.room));
  auto row0 = [V](std::span<const float> logits) {
    return std::vector<float>(logits.begin(), logits.begin() + V);
  };
  optimized::BatchOptions with_mask;
  with_mask.padding = out.padding;
  optimized::BatchOptions without_mask = with_mask;
  without_mask.padding_mask = false;

  // With the padding mask: prefill, then greedy decoding (both rows).
  std::vector<std::vector<int>> steps;  // [n][2]: the tokens of each step
  std::vector<std::vector<float>> masked;
  Engine engine(weights, set, options.threads);
  std::span<const float> logits = engine.prefill_batch(batch, with_mask);
  masked.push_back(row0(logits));
  for (int k = 0; k < n; ++k) {
    steps.push_back({argmax(logits.subspan(0, V)), argmax(logits.subspan(V, V))});
    d.continuation.push_back(steps.back()[0]);
    logits = engine.decode_batch(steps.back());
    masked.push_back(row0(logits));
  }
  // Without it, the same tokens.
  std::vector<std::vector<float>> unmasked;
  unmasked.push_back(row0(engine.prefill_batch(batch, without_mask)));
  for (const auto& s : steps) unmasked.push_back(row0(engine.decode_batch(s)));
  // Step k alone without the padding mask, on the cache of the masked run.
  std::vector<std::vector<float>> one_query;
  for (int k = 0; k < n; ++k) {
    engine.prefill_batch(batch, with_mask);
    for (int j = 0; j < k; ++j) engine.decode_batch(steps[j]);
    engine.set_padding_mask(false);
    one_query.push_back(row0(engine.decode_batch(steps[k])));
  }

  for (int k = 0; k <= n; ++k) {
    DecodeStep step;
    step.token = k == 0 ? -1 : d.continuation[k - 1];
    step.relative_difference =
        relative_difference(masked[k].data(), unmasked[k].data(), static_cast<int>(V));
    step.next_token = next_token_change(masked[k], unmasked[k]);
    if (k > 0) {
      step.one_query_pass_identical = masked[k] == one_query[k - 1];
      out.one_query_difference.push_back(
          relative_difference(masked[k].data(), one_query[k - 1].data(), V));
    }
    d.steps.push_back(step);
  }
}

// The first row (forward order) where position t differs; -1 when none does.
int first_change(const PaddingAblation& a, int t) {
  for (size_t r = 0; r < a.rows.size(); ++r)
    if (a.rows[r].relative_difference[t] != 0) return static_cast<int>(r);
  return -1;
}

std::vector<std::string> findings(const PaddingAblation& a) {
  std::vector<std::string> lines;
  const int T = static_cast<int>(a.tokens.size());
  const std::string precision = precision_words(a.precision);
  const std::string columns =
      std::to_string(a.padding_columns) + " padding column" + (a.padding_columns == 1 ? "" : "s");
  bool any = false;
  for (int t = 0; t < T; ++t) any = any || first_change(a, t) >= 0;
  if (!any) {
    lines.push_back(
        a.padding == Padding::right
            ? "With right padding the " + columns +
                  " come after every real token: the causal mask already hides them, and every "
                  "position is bit-identical at " +
                  precision + " with and without the padding mask."
            : "Every position is bit-identical at " + precision +
                  " with and without the padding mask.");
    return lines;
  }
  // Positions grouped by the tensor where they first change.
  std::vector<std::string> groups;
  bool all_stay = true;
  for (int start = 0, t = 1; t <= T; ++t) {
    if (t < T && first_change(a, t) == first_change(a, start)) continue;
    const int f = first_change(a, start);
    const std::string who = positions_text(start, t - 1);
    groups.push_back(f < 0 ? who + " never changes"
                           : who + " change" + (start == t - 1 ? "s" : "") + " from " +
                                 a.rows[f].tensor + " on");
    start = t;
  }
  for (int t = 0; t < T; ++t) {
    const int f = first_change(a, t);
    for (size_t r = f < 0 ? a.rows.size() : f; r < a.rows.size(); ++r)
      all_stay = all_stay && a.rows[r].relative_difference[t] != 0;
  }
  lines.push_back("Without the padding mask, every real position also sees the " + columns +
                  (a.padding == Padding::left ? " before it" : "") + ": " + join(groups, "; ") +
                  (all_stay ? ", and stay changed through logits."
                            : " (some become bit-identical again later: see the table)."));
  const int changed = static_cast<int>(
      std::count_if(a.next_tokens.begin(), a.next_tokens.end(),
                    [](const NextTokenChange& c) { return c.argmax_causal != c.argmax_none; }));
  lines.push_back("The predicted next token changes at " + std::to_string(changed) + " of the " +
                  std::to_string(T) + " positions; at the last position " +
                  sci(a.next_tokens.back().kl_divergence) + " nats of KL(masked || unmasked).");
  lines.push_back(
      "The embedding is unchanged: the position ids count real tokens with or without the mask.");
  return lines;
}

std::vector<std::string> decode_findings(const PaddingAblation& a) {
  const DecodeAblation& d = a.decode;
  std::vector<std::string> lines;
  const int n = static_cast<int>(d.continuation.size());
  if (n == 0) {
    lines.push_back("The longer row fills the context: no token can be decoded.");
    return lines;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = 0;
  for (int k = 1; k <= n; ++k) {
    lo = std::min(lo, d.steps[k].relative_difference);
    hi = std::max(hi, d.steps[k].relative_difference);
  }
  lines.push_back(hi == 0  ? "The continuation's logits are bit-identical at every decode step "
                             "with and without the padding mask."
                  : lo > 0 ? "The continuation's logits differ at every decode step (relative "
                             "difference " +
                                 sci(lo) + " to " + sci(hi) + ") without the padding mask."
                           : "The continuation's logits differ at some decode steps (up to " +
                                 sci(hi) + ") without the padding mask.");
  int identical = 0;
  double one_lo = std::numeric_limits<double>::infinity(), one_hi = 0;
  for (int k = 1; k <= n; ++k) {
    identical += d.steps[k].one_query_pass_identical;
    one_lo = std::min(one_lo, a.one_query_difference[k - 1]);
    one_hi = std::max(one_hi, a.one_query_difference[k - 1]);
  }
  if (identical == n) {
    lines.push_back(
        "A single decode step run without the padding mask, on the cache the masked run built, "
        "gives bit-identical logits at all " +
        std::to_string(n) + " steps: " +
        (a.padding == Padding::right
             ? "each decode step writes the row's next token over its own padding, so no "
               "padding key is ever before its query."
             : "no padding key is visible to it."));
  } else {
    lines.push_back(
        "A single decode step run without the padding mask, on the cache the masked run built, "
        "differs from the masked step at " +
        std::to_string(n - identical) + " of " + std::to_string(n) +
        " steps (relative difference " + sci(one_lo) + " to " + sci(one_hi) +
        "): unlike the causal mask, the padding mask is needed at every decode step, since the "
        "padding keys stay in the cache before every new query.");
  }
  return lines;
}

}  // namespace

PaddingAblation run_padding_ablation(const Weights<float>& weights, const std::vector<int>& tokens,
                                     Padding padding, int padding_columns, const std::string& model,
                                     const PaddingAblationOptions& options) {
  validate_tokens(tokens, weights.config, "tokens");
  if (padding_columns < 1)
    throw InputError("--pad: at least one padding column (got " + std::to_string(padding_columns) +
                     ")");
  if (tokens.size() + padding_columns > static_cast<size_t>(weights.config.n_ctx))
    throw InputError("--pad: " + std::to_string(tokens.size()) + " tokens and " +
                     std::to_string(padding_columns) + " padding columns exceed the context of " +
                     std::to_string(weights.config.n_ctx) + " positions");
  optimized::find_kernel(options.kernel);  // an unknown name fails now
  PaddingAblation out;
  out.model = model;
  out.tokens = tokens;
  out.padding = padding;
  out.padding_columns = padding_columns;
  out.precision = options.precision;
  const auto batch = ablation_batch(tokens, padding_columns);
  switch (options.precision) {
    case reference::Precision::f32:
      reference_passes<float>(weights, batch, options, out);
      break;
    case reference::Precision::f64:
      reference_passes<double>(weights, batch, options, out);
      break;
    case reference::Precision::digits50:
      reference_passes<reference::Real50>(weights, batch, options, out);
      break;
    case reference::Precision::digits100:
      reference_passes<reference::Real100>(weights, batch, options, out);
      break;
    case reference::Precision::dd:
      reference_passes<reference::DoubleDouble>(weights, batch, options, out);
      break;
  }
  decode_part(weights, batch, options, out);
  return out;
}

std::string format_padding_ablation(const PaddingAblation& a) {
  const int T = static_cast<int>(a.tokens.size());
  const std::string precision = precision_words(a.precision);
  std::string s = "mask-ablation --padding " + std::string(padding_name(a.padding)) + ": model " +
                  a.model + ", tokens " + format_tokens(a.tokens) + " (T = " + std::to_string(T) +
                  ") with " + std::to_string(a.padding_columns) + " padding columns on the " +
                  padding_name(a.padding) + " (the row batched " + "with one " +
                  std::to_string(a.padding_columns) + " tokens longer), reference " + "at " +
                  precision + "\n";
  s += wrap("Each cell: " + std::string(kPaddingDifferenceFormula) +
            " over the tensor's row at that real position, for the padded batch run with and "
            "without the padding mask (position ids count real tokens either way); 0 = "
            "bit-identical at " +
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
  s += "\n" + wrap("Decode (" + d.implementation +
                   "): the batch prefilled with and without the "
                   "padding mask, then " +
                   (d.continuation.empty()
                        ? std::string("no token decoded.")
                        : "the masked run's greedy continuation " + format_tokens(d.continuation) +
                              " decoded on each; last column: the step run alone without the "
                              "padding mask on the masked run's cache."));
  if (!d.continuation.empty()) {
    s += "\nstep    token  rel. difference  KL(masked || unmasked)  argmax masked / unmasked  "
         "one step, masked vs unmasked\n";
    for (size_t k = 0; k < d.steps.size(); ++k) {
      const DecodeStep& st = d.steps[k];
      std::string line = pad_right(k == 0 ? "prompt" : std::to_string(k), 6);
      line += pad_left(st.token < 0 ? "-" : std::to_string(st.token), 7);
      line += pad_left(sci(st.relative_difference), 17);
      line += pad_left(sci(st.next_token.kl_divergence), 24);
      line += pad_left(std::to_string(st.next_token.argmax_causal) + " / " +
                           std::to_string(st.next_token.argmax_none),
                       26);
      line += "  " + (k == 0 ? std::string("-")
                      : st.one_query_pass_identical
                          ? std::string("bit-identical")
                          : "differs (" + sci(a.one_query_difference[k - 1]) + ")");
      s += line + "\n";
    }
  }
  s += "\n";
  for (const std::string& line : decode_findings(a)) s += wrap(line);
  return s;
}

std::string padding_ablation_json(const PaddingAblation& a) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["model"] = a.model;
  j["tokens"] = a.tokens;
  if (!a.token_texts.empty()) j["token_text"] = a.token_texts;
  j["padding"] = padding_name(a.padding);
  j["padding_columns"] = a.padding_columns;
  j["precision"] = reference::precision_name(a.precision);
  j["measure"] = kPaddingDifferenceFormula;
  ordered_json rows = ordered_json::array();
  for (const MaskAblationRow& r : a.rows) {
    ordered_json values = ordered_json::array();
    for (double x : r.relative_difference) values.push_back(number_or_null(x));
    rows.push_back({{"tensor", r.tensor}, {"relative_difference", values}});
  }
  j["rows"] = rows;
  ordered_json next = ordered_json::array();
  for (const NextTokenChange& c : a.next_tokens)
    next.push_back({{"argmax_masked", c.argmax_causal},
                    {"argmax_unmasked", c.argmax_none},
                    {"kl_divergence", number_or_null(c.kl_divergence)}});
  j["next_token"] = next;
  const DecodeAblation& d = a.decode;
  ordered_json steps = ordered_json::array();
  for (size_t k = 0; k < d.steps.size(); ++k) {
    const DecodeStep& st = d.steps[k];
    steps.push_back(
        {{"step", k},
         {"token", st.token < 0 ? ordered_json(nullptr) : ordered_json(st.token)},
         {"relative_difference", number_or_null(st.relative_difference)},
         {"argmax_masked", st.next_token.argmax_causal},
         {"argmax_unmasked", st.next_token.argmax_none},
         {"kl_divergence", number_or_null(st.next_token.kl_divergence)},
         {"one_step_identical",
          k == 0 ? ordered_json(nullptr) : ordered_json(st.one_query_pass_identical)},
         {"one_step_relative_difference",
          k == 0 ? ordered_json(nullptr) : number_or_null(a.one_query_difference[k - 1])}});
  }
  j["decode"] = {{"implementation", d.implementation},
                 {"room", d.room},
                 {"continuation", d.continuation},
                 {"steps", steps}};
  return j.dump(2) + "\n";
}

std::string padding_ablation_svg(const PaddingAblation& a) {
  Heatmap h;
  h.title = "Padding mask ablation (" + std::string(padding_name(a.padding)) + ", " +
            std::to_string(a.padding_columns) + " padding columns): model " + a.model +
            ", reference at " + precision_words(a.precision);
  h.x_label = "position";
  h.y_label = "tensor";
  h.subtitle = std::string("each cell: ") + kPaddingDifferenceFormula +
               " over the row, with vs without the padding mask";
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
