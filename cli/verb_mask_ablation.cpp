// gpt2-oracle mask-ablation: what the causal mask does at inference, per
// tensor and position, with the decode part on the engine
// (oracle/mask_ablation.h). The report goes to stdout; --svg and --json
// write the same numbers to files.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/verbs.h"
#include "model/batch.h"
#include "model/error.h"
#include "model/files.h"
#include "model/utf8.h"
#include "oracle/mask_ablation.h"
#include "oracle/mask_ablation_report.h"
#include "oracle/truth_cache.h"
#include "reference/cost.h"
#include "oracle/padding_ablation.h"

namespace gpt2::cli {

namespace {

struct MaskAblationArgs {
  ModelSource source;
  TokenInput input;
  std::string precision = "50";
  std::string kernel = "fast";
  std::string svg;
  std::string json;
  int threads = 0;
  bool progress = false;
  TruthCacheOption cache;
  bool force = false;
  std::string padding;  // --padding left|right: the padding mask instead of the causal one
  int pad = 4;
};

// --padding: the padding mask of a batch (oracle/padding_ablation.h).
int run_padding_ablation_verb(const MaskAblationArgs& a) {
  oracle::PaddingAblationOptions options;
  options.precision = reference::parse_precision(a.precision);
  options.kernel = a.kernel;
  options.threads = resolve_threads(a.threads);
  options.progress = a.progress || ::isatty(2);
  const Padding padding = parse_padding(a.padding);
  oracle::PaddingAblation ablation;
  const std::vector<Output> outputs = {
      {"--svg", a.svg, [&] { return oracle::padding_ablation_svg(ablation); }},
      {"--json", a.json, [&] { return oracle::padding_ablation_json(ablation); }}};
  check_outputs(outputs);
  const Weights<float> weights = a.source.load();
  std::optional<Gpt2Tokenizer> tokenizer;
  const std::vector<int> tokens = a.input.resolve(weights.config, a.source, tokenizer, true).ids;
  ablation =
      oracle::run_padding_ablation(weights, tokens, padding, a.pad, a.source.describe(), options);
  if (tokenizer)
    for (int id : tokens)
      ablation.token_texts.push_back(
          tokenizer->has_token(id) ? utf8_for_display(tokenizer->token_bytes(id)) : "");
  std::fputs(oracle::format_padding_ablation(ablation).c_str(), stdout);
  std::fflush(stdout);
  return write_outputs(0, outputs);
}

int run_mask_ablation_verb(const MaskAblationArgs& a) {
  if (!a.padding.empty()) return run_padding_ablation_verb(a);
  oracle::MaskAblationOptions options;
  options.precision = reference::parse_precision(a.precision);
  options.kernel = a.kernel;
  options.threads = resolve_threads(a.threads);
  options.progress = a.progress || ::isatty(2);  // a terminal watches
  oracle::MaskAblation ablation;
  const std::vector<Output> outputs = {
      {"--svg", a.svg, [&] { return oracle::mask_ablation_svg(ablation); }},
      {"--json", a.json, [&] { return oracle::mask_ablation_json(ablation); }}};
  check_outputs(outputs);  // before minutes are spent computing
  const oracle::TruthCache cache(a.cache.directory());
  options.truth_cache = &cache;
  const Config config = a.source.config();
  // The checkpoint's tokenizer, when it has one: text input needs it, and
  // the positions are labelled with their tokens' text.
  std::optional<Gpt2Tokenizer> tokenizer;
  const std::vector<int> tokens = a.input.resolve(config, a.source, tokenizer, true).ids;
  {
    // Two reference passes (both traces held until compared), then the
    // engine's own copy of the weights for the decode part.
    const int T = static_cast<int>(tokens.size());
    Estimate e;
    e.what = std::string("the reference at ") + reference::precision_name(options.precision) +
             " with and without the mask over " + std::to_string(T) + " tokens of " +
             a.source.describe();
    const uint64_t weights = reference::weight_bytes(config);
    e.bytes = std::max(a.source.load_bytes(config),
                       weights + std::max(2 * reference::run_bytes(config, T, options.precision,
                                                                   TraceLevel::blocks, Mode::full),
                                          weights));
    check_memory("mask-ablation", e, a.force);
    const reference::Work work = reference::forward_work(config, T, Mask::causal) +
                                 reference::forward_work(config, T, Mask::none);
    if (const auto time = reference::estimate_time(work, options.precision, options.threads)) {
      e.seconds = time->seconds;
      e.how = format_speed(time->speed, options.threads);
    }
    print_estimate("mask-ablation", e);
  }
  const Weights<float> weights = a.source.load();

  ablation = oracle::run_mask_ablation(weights, tokens, a.source.describe(), options);
  if (tokenizer)  // each position labelled with its token's text
    for (int id : tokens)
      ablation.token_texts.push_back(
          tokenizer->has_token(id) ? utf8_for_display(tokenizer->token_bytes(id)) : "");
  std::fputs(oracle::format_mask_ablation(ablation).c_str(), stdout);
  std::fflush(stdout);
  return write_outputs(0, outputs);
}

}  // namespace

Verb add_mask_ablation_verb(CLI::App& app) {
  auto a = std::make_shared<MaskAblationArgs>();
  CLI::App* command = app.add_subcommand(
      "mask-ablation",
      "What the causal mask does at inference: the reference with and without it, the relative "
      "difference per tensor (embed, block.{l}, ln_f, logits) and position; then cached "
      "decoding after a masked and an unmasked prefill (engine)");
  a->source.add_options(*command);
  a->input.add_options(*command);
  command->add_option("--precision", a->precision,
                      "Reference scalar: f32, f64, 50 (default) or 100 digits, or dd "
                      "(double-double, ~32 digits: reference/double_double.h); a 0 in the "
                      "table means bit-identical at this precision");
  command->add_option("--kernel", a->kernel,
                      "Engine kernel set for the decode part (default fast; `gpt2-oracle "
                      "kernels` lists them)");
  command->add_option("--svg", a->svg, "Write the table as an SVG heatmap");
  command->add_option("--json", a->json, "Write every number as JSON");
  add_threads_option(*command, a->threads);
  command->add_flag("--progress", a->progress, "Progress on stderr (reference)");
  a->cache.add_options(*command);
  add_force_option(*command, a->force);
  CLI::Option* padding = command->add_option(
      "--padding", a->padding,
      "The padding mask instead of the causal one: the tokens as a row of a batch padded on "
      "this side (left or right) with --pad columns, with and without the padding mask");
  command->add_option("--pad", a->pad, "With --padding: padding columns before or after the row")
      ->capture_default_str()
      ->needs(padding);
  return Verb{command, [a] { return run_mask_ablation_verb(*a); }};
}

}  // namespace gpt2::cli
