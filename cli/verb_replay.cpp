// gpt2-oracle replay: every op of a kernel set run alone on the truth's own
// inputs (oracle/replay.h), or one op of one layer on chosen rows, as the
// reproducer lines of conformance print it.
#include <cstdio>
#include <memory>
#include <set>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "model/json_strict.h"
#include "model/tokens.h"
#include "optimized/kernels.h"
#include "oracle/replay.h"
#include "oracle/report.h"
#include "oracle/report_text.h"
#include "reference/reference.h"

namespace gpt2::cli {

using oracle::report_text::xml_escape;

namespace {

struct ReplayArgs {
  ModelSource source;
  TokenInput input;
  std::vector<std::string> kernels;
  PluginInput plugins;
  std::string mask = "causal";
  std::string chunks;  // prefill chunk sizes; the rest is decoded
  std::string op;
  int layer = -1;
  std::string rows;
  std::string json;
  std::string junit;
  uint64_t seed = 1;
  int threads = 0;
};

// "2,3,1" -> {2, 3, 1}; each a positive integer (`option` names it in errors).
std::vector<int> parse_list(const std::string& text, const std::string& option) {
  std::vector<int> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    const size_t end = std::min(text.find(',', begin), text.size());
    const std::string item = text.substr(begin, end - begin);
    if (item.empty() || item.size() > 9 ||
        item.find_first_not_of("0123456789") != std::string::npos)
      throw InputError(option + ": expected a comma-separated list of integers, found " +
                       quote_for_message(text));
    out.push_back(std::stoi(item));
    begin = end + 1;
  }
  return out;
}

std::string junit(const std::vector<std::pair<std::string, oracle::ReplayResult>>& results) {
  int tests = 0, failures = 0;
  std::string cases;
  for (const auto& [kernel, r] : results)
    for (const auto& o : r.ops) {
      ++tests;
      const std::string name = "replay " + o.id.name() +
                               (o.id.layer >= 0 ? ", block." + std::to_string(o.id.layer) : "") +
                               " [" + kernel + "]";
      cases += "    <testcase classname=\"replay." + xml_escape(kernel) + "\" name=\"" +
               xml_escape(name) + "\"";
      if (!o.beyond) {
        cases += "/>\n";
        continue;
      }
      ++failures;
      cases += ">\n      <failure message=\"" +
               xml_escape(o.id.name() + " beyond budget at position " +
                          std::to_string(o.first_failing_position) + " (ratio " +
                          oracle::format("%.3g", o.ratio) + ")") +
               "\">" + xml_escape(o.reproduce) + "</failure>\n    </testcase>\n";
    }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"gpt2-oracle\" tests=\"" +
         std::to_string(tests) + "\" failures=\"" + std::to_string(failures) +
         "\">\n  <testsuite name=\"replay\" tests=\"" + std::to_string(tests) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\">\n" + cases +
         "  </testsuite>\n</testsuites>\n";
}

int run_replay_verb(const ReplayArgs& a) {
  std::vector<std::pair<std::string, oracle::ReplayResult>> results;  // kernel, result
  std::vector<int> tokens;
  const std::vector<Output> outputs = {
      {"--json", a.json,
       [&] {
         nlohmann::ordered_json j;
         j["model"] = a.source.describe();
         j["tokens"] = tokens;
         j["mask"] = a.mask;
         nlohmann::ordered_json rs = nlohmann::ordered_json::array();
         for (const auto& [kernel, r] : results)
           rs.push_back({{"kernel", kernel}, {"replay", oracle::replay_json(r)}});
         j["results"] = rs;
         return j.dump(2) + "\n";
       }},
      {"--junit", a.junit, [&] { return junit(results); }}};
  check_outputs(outputs);  // before any work
  // A plugin's sets join the registry; without --kernel, only they are run.
  const std::vector<std::string> plugin_sets = a.plugins.load();

  const Weights<float> weights = a.source.load();
  const Config& cfg = weights.config;
  std::optional<Gpt2Tokenizer> tokenizer;
  tokens = a.input.resolve(cfg, a.source, tokenizer).ids;
  const int T = static_cast<int>(tokens.size());
  const Mask mask = a.mask == "none" ? Mask::none : Mask::causal;
  std::vector<int> chunks =
      a.chunks.empty() ? std::vector<int>{T} : parse_list(a.chunks, "--chunks");
  int chunked = 0;
  for (int c : chunks) {
    if (c < 1) throw InputError("--chunks: every chunk holds at least one token");
    chunked += c;
  }
  if (chunked > T)
    throw InputError("--chunks: the chunks hold " + std::to_string(chunked) +
                     " tokens, more than " + "the " + std::to_string(T) + " given");
  if (mask == Mask::none && chunks != std::vector<int>{T})
    throw InputError("--mask none: one prefill of every token (no --chunks)");

  // The ops to replay.
  std::vector<oracle::ReplayOpId> only;
  if (!a.op.empty()) {
    const auto op = oracle::parse_replay_op(a.op);
    if (!op)
      throw InputError("--op: unknown op " + quote_for_message(a.op) +
                       " (embed, ln_1, qkv, attention, attn_proj, ln_2, fc_gelu, mlp_proj, ln_f, "
                       "logits)");
    const bool per_layer = *op != oracle::ReplayOp::embed && *op != oracle::ReplayOp::ln_f &&
                           *op != oracle::ReplayOp::logits;
    if (per_layer && (a.layer < 0 || a.layer >= cfg.n_layer))
      throw InputError("--layer: op " + a.op + " needs a block in [0, " +
                       std::to_string(cfg.n_layer) + ")");
    if (!per_layer && a.layer >= 0)
      throw InputError("--layer: op " + a.op + " is not inside a block");
    only.push_back({*op, per_layer ? a.layer : -1});
  } else if (a.layer >= 0) {
    throw InputError("--layer applies with --op");
  }
  std::vector<int> rows;
  if (!a.rows.empty()) {
    rows = parse_list(a.rows, "--rows");
    for (int r : rows)
      if (r >= T)
        throw InputError("--rows: row " + std::to_string(r) + " is beyond the " +
                         std::to_string(T) + " tokens");
  }
  std::vector<const optimized::KernelSet*> sets;
  const std::vector<std::string>& names = a.kernels.empty() ? plugin_sets : a.kernels;
  if (names.empty())  // the sets the float32 rule judges (issue 16: profiles)
    sets = optimized::float32_kernel_sets();
  else
    for (const auto& name : names) sets.push_back(&optimized::find_kernel(name));

  const std::vector<optimized::Pass> passes = oracle::scenario_passes(T, chunks, mask);
  reference::Options ro;
  ro.mask = mask;
  ro.threads = resolve_threads(a.threads);
  ro.trace_level = TraceLevel::ops;
  bool all_passed = true;
  for (const auto* set : sets) {
    // The truth on the weights the set computes with (bf16 rounds them).
    const Weights<float> used = set->weights_used(weights);
    const Trace<double> truth = reference::run(used, tokens, reference::Precision::digits50, ro);
    const oracle::ReplayReference ref =
        oracle::compute_replay_reference(used, tokens, mask, truth, a.seed, only);
    oracle::ReplayResult r = oracle::replay(weights, *set, ref, passes, rows);
    if (!r.passed() && only.empty()) {
      oracle::ReplaySource source;
      source.model_flags = a.source.flags() + a.plugins.flags();
      source.kernel = set->name;
      source.chunks = chunks;
      source.seed = a.seed;
      source.truth_weights = &used;
      source.truth_of = [&](const std::vector<int>& prefix) {
        if (mask == Mask::causal) return trace_rows(truth, 0, static_cast<int>(prefix.size()));
        return reference::run(used, prefix, reference::Precision::digits50, ro);
      };
      oracle::shrink_replay(r, weights, *set, ref, source);
    }
    std::printf("replay [%s]: %s\n", set->name.c_str(), r.summary().c_str());
    for (const auto& o : r.ops) {
      if (!only.empty()) {
        std::printf(
            "  %s%s: max error %.6g, budget %.6g (K x E %.6g + floor %.6g), ratio %.3g: %s\n",
            o.id.name().c_str(),
            o.id.layer >= 0 ? (", block." + std::to_string(o.id.layer)).c_str() : "",
            o.metrics.max_abs_error, o.budget.limit(),
            o.budget.multiplier * o.budget.baseline_error, o.budget.floor, o.ratio,
            o.beyond ? "beyond budget" : "within budget");
        if (o.beyond) {
          std::string positions, columns;
          for (int p : o.failing_positions)
            positions += (positions.empty() ? "" : ",") + std::to_string(p);
          for (int c : o.failing_columns)
            columns += (columns.empty() ? "" : ",") + std::to_string(c);
          std::printf("  rows beyond budget: %s; in row %d, columns %s\n", positions.c_str(),
                      o.first_failing_position, columns.c_str());
        }
      } else if (o.beyond) {
        std::printf("  %s%s: ratio %.3g, first at position %d\n    reproduce: %s\n",
                    o.id.name().c_str(),
                    o.id.layer >= 0 ? (", block." + std::to_string(o.id.layer)).c_str() : "",
                    o.ratio, o.first_failing_position, o.reproduce.c_str());
      }
    }
    all_passed = all_passed && r.passed();
    results.emplace_back(set->name, std::move(r));
  }
  std::fflush(stdout);
  return write_outputs(all_passed ? 0 : 1, outputs);
}

}  // namespace

Verb add_replay_verb(CLI::App& app) {
  auto a = std::make_shared<ReplayArgs>();
  CLI::App* command = app.add_subcommand(
      "replay",
      "Run every op of every layer alone on the truth's own inputs (the 50-digit values rounded "
      "to float32) through a kernel set, each judged by its own budget; or one op of one layer "
      "(--op, --layer) on chosen rows (--rows). Exit 1 when an op is beyond budget");
  a->source.add_options(*command);
  a->input.add_options(*command);
  command->add_option("--kernel", a->kernels, "Kernel set (repeatable; default: every one)");
  a->plugins.add_options(*command);
  command->add_option("--mask", a->mask, "causal (default) or none")
      ->check(CLI::IsMember({"causal", "none"}));
  command->add_option("--chunks", a->chunks,
                      "Prefill chunk sizes, e.g. 2,2,1; the remaining tokens are decoded one at a "
                      "time (default: one prefill of every token)");
  command->add_option("--op", a->op,
                      "Only this op: embed, ln_1, qkv, attention, attn_proj, ln_2, fc_gelu, "
                      "mlp_proj, ln_f, logits");
  command->add_option("--layer", a->layer, "The block of --op (ops inside a block)");
  command->add_option("--rows", a->rows, "Judge only these positions, e.g. 3,4");
  command->add_option("--json", a->json, "Write every figure as JSON");
  command->add_option("--junit", a->junit, "Write JUnit XML (one test case per op and layer)");
  add_seed_option(*command, a->seed, "Seed of the baseline ensemble (default 1)");
  add_threads_option(*command, a->threads);
  return Verb{command, [a] { return run_replay_verb(*a); }};
}

}  // namespace gpt2::cli
