// gpt2-oracle run: one implementation over one token sequence, its whole
// trace (embed, block.{l}, ln_f, logits; with --trace-level ops also the op
// tensors of every block) written as F64 safetensors.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli/verbs.h"
#include "reference/team.h"
#include "model/error.h"
#include "model/files.h"
#include "model/profile.h"
#include "model/tokens.h"
#include "optimized/engine.h"
#include "reference/cost.h"
#include "reference/reference.h"

namespace gpt2::cli {

namespace {

struct RunOptions {
  ModelSource source;
  std::string impl = "reference";
  std::string kernel;
  std::string mode = "full";
  int chunk = 0;
  std::string mask = "causal";
  std::string precision;
  std::string profile;
  TokenInput input;
  std::string out;
  std::string trace_level = "blocks";
  int threads = 0;
  bool progress = false;
  bool force = false;
};

Mode parse_mode(const std::string& text) {
  if (text == "full") return Mode::full;
  if (text == "incremental") return Mode::incremental;
  return Mode::chunked;  // CLI11 restricts the choices
}

int run_verb(const RunOptions& o) {
  const bool is_reference = o.impl == "reference";
  if (is_reference && !o.kernel.empty())
    throw InputError("run: --kernel applies to --impl optimized only");
  if (!is_reference && !o.precision.empty())
    throw InputError("run: --precision applies to --impl reference only (the engine is float32)");
  const Mode mode = parse_mode(o.mode);
  if (mode == Mode::chunked && is_reference)
    throw InputError("run: --mode chunked is an engine mode (use --impl optimized)");
  if (mode == Mode::chunked && o.chunk < 1)
    throw InputError("run: --mode chunked needs --chunk N (tokens per chunk, N >= 1)");
  if (mode != Mode::chunked && o.chunk != 0)
    throw InputError("run: --chunk applies to --mode chunked only");
  if (!is_reference && !o.profile.empty())
    throw InputError(
        "run: --profile applies to --impl reference only (a kernel set rounds as "
        "it declares)");
  // The truth under a profile: its roundings, on the weights it rounds.
  const std::optional<Profile> profile =
      o.profile.empty() ? std::nullopt : std::optional<Profile>(load_profile(o.profile));
  const Mask mask = o.mask == "none" ? Mask::none : Mask::causal;
  if (writes_outputs()) check_output_file("--out", o.out);  // before any work (rank 0's)

  // The config and the tokens first: the estimate (and a refusal) comes
  // before any weights are read or generated.
  const Config config = o.source.config();
  std::optional<Gpt2Tokenizer> tokenizer;
  const Prompt prompt = o.input.resolve(config, o.source, tokenizer);
  const std::vector<int>& tokens = prompt.ids;
  const int threads = resolve_threads(o.threads);
  const TraceLevel level = parse_trace_level(o.trace_level);
  const reference::Precision precision =
      reference::parse_precision(o.precision.empty() ? "50" : o.precision);
  if (is_reference) {
    const int T = static_cast<int>(tokens.size());
    Estimate e;
    e.what = std::string("the reference at ") + reference::precision_name(precision) +
             (precision == reference::Precision::f32 || precision == reference::Precision::f64
                  ? ""
                  : " digits") +
             " over " + std::to_string(T) + " token" + (T == 1 ? "" : "s") + " of " +
             o.source.describe();
    // The weights and the run, then the trace's file built in memory.
    const uint64_t out_bytes = reference::trace_elements(config, T, level) * sizeof(double);
    e.bytes = std::max(o.source.load_bytes(config),
                       reference::weight_bytes(config) +
                           reference::run_bytes(config, T, precision, level, mode) + out_bytes);
    check_memory("run", e, o.force);
    if (const auto time = reference::estimate_time(reference::forward_work(config, T, mask),
                                                   precision, threads)) {
      e.seconds = time->seconds;
      e.how = format_speed(time->speed, threads);
    }
    print_estimate("run", e);
  }

  const Weights<float> weights =
      profile ? round_weights(o.source.load(), *profile) : o.source.load();

  Trace<double> trace;
  std::string producer;
  if (is_reference) {
    reference::Options options;
    options.mask = mask;
    options.mode = mode;
    options.threads = threads;
    options.progress = o.progress || ::isatty(2);  // a terminal watches
    options.trace_level = level;
    options.team = mpi_team();  // under mpirun: split across the ranks (50 and 100 digits)
    options.profile = profile ? &*profile : nullptr;
    trace = reference::run(weights, tokens, precision, options);
    if (const reference::Team* team = mpi_team(); team && options.progress && writes_outputs())
      std::fprintf(stderr,
                   "reference over MPI: %d ranks, %lld exchanges; rank 0 sent %lld bytes and "
                   "received %lld\n",
                   team->size(), static_cast<long long>(team->collectives),
                   static_cast<long long>(team->bytes_sent),
                   static_cast<long long>(team->bytes_received));
    producer = std::string("reference at ") + reference::precision_name(precision);
    if (profile) producer += ", profile " + profile->name;
  } else {
    const std::string kernel = o.kernel.empty() ? "fast" : o.kernel;
    trace = optimized::run_trace(weights, tokens, kernel, mode, o.chunk, mask, threads, level);
    producer = "optimized engine, kernel " + kernel;
  }
  std::vector<std::pair<std::string, std::string>> metadata = {{"producer", producer},
                                                               {"model", o.source.describe()},
                                                               {"tokens", format_tokens(tokens)},
                                                               {"mode", mode_name(mode)},
                                                               {"mask", mask_name(mask)}};
  if (prompt.text) metadata.emplace_back("text", *prompt.text);  // what the tokens encode
  if (profile) metadata.emplace_back("profile", profile->name);
  if (!writes_outputs()) return 0;  // the other ranks of an MPI job: rank 0 writes
  write_trace(o.out, trace, TraceDtype::F64, metadata);
  std::printf("wrote %s: %d tokens, %d blocks, %s, mode %s, mask %s\n", o.out.c_str(),
              trace.n_tokens, trace.n_layer(), producer.c_str(), mode_name(mode), mask_name(mask));
  return 0;
}

}  // namespace

Verb add_run_verb(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* command = app.add_subcommand(
      "run",
      "Run one implementation on a token sequence and write its trace (embed, block.{l}, "
      "ln_f, logits) as F64 safetensors");
  o->source.add_options(*command);
  command->add_option("--impl", o->impl, "reference (default) or optimized")
      ->check(CLI::IsMember({"reference", "optimized"}));
  command->add_option("--kernel", o->kernel,
                      "Engine kernel set (default fast; `gpt2-oracle kernels` lists them)");
  command
      ->add_option("--mode", o->mode,
                   "full (one pass, default), incremental (one position at a time against "
                   "the key/value cache) or chunked (engine only: prefill in chunks)")
      ->check(CLI::IsMember({"full", "incremental", "chunked"}));
  command->add_option("--chunk", o->chunk, "Tokens per chunk, with --mode chunked");
  command
      ->add_option("--mask", o->mask,
                   "causal (default) or none. In the engine --mask none applies to prefill "
                   "passes only: a decode step has one query and no future keys to hide")
      ->check(CLI::IsMember({"causal", "none"}));
  command->add_option("--precision", o->precision,
                      "Reference scalar: f32, f64, 50 (default: the truth) or 100 digits, or dd "
                      "(double-double, ~32 digits, uncertified here: `fixtures generate "
                      "--precision dd` certifies it against 50 digits)");
  command->add_option("--profile", o->profile,
                      "Reference under a precision profile: its roundings at its points, on "
                      "its rounded weights (a name from `gpt2-oracle profiles`, or a profile "
                      "JSON file; default: none, float32 throughout)");
  o->input.add_options(*command);
  command->add_option("--out", o->out, "Trace file to write (.safetensors)")->required();
  add_trace_level_option(*command, o->trace_level);
  add_threads_option(*command, o->threads);
  command->add_flag("--progress", o->progress, "Progress on stderr (reference)");
  add_force_option(*command, o->force);
  return Verb{command, [o] { return run_verb(*o); }};
}

}  // namespace gpt2::cli
