// gpt2-oracle conformance: the main job. Every scenario × every registered
// kernel set against the reference; a table on stdout, --json, --junit.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/verbs.h"
#include "model/error.h"
#include "oracle/conformance.h"
#include "oracle/report.h"

namespace gpt2::cli {

namespace {

struct ConformanceArgs {
  ModelSource source;
  uint64_t seed = 1;
  std::vector<std::string> kernels;
  std::string filter;
  std::string json;
  std::string junit;
  std::string trace_level = "ops";
  bool no_replay = false;
  int threads = 0;
  bool progress = false;
};

int run_conformance_verb(const ConformanceArgs& a) {
  oracle::ConformanceReport report;
  const std::vector<Output> outputs = {
      {"--json", a.json, [&] { return oracle::format_json(report); }},
      {"--junit", a.junit, [&] { return oracle::format_junit(report); }}};
  check_outputs(outputs);
  const Weights<float> weights = a.source.load();
  oracle::ConformanceOptions options;
  options.model = a.source.describe();
  options.seed = a.seed;
  options.threads = resolve_threads(a.threads);
  options.kernels = a.kernels;
  options.filter = a.filter;
  options.trace_level = parse_trace_level(a.trace_level);
  options.progress = a.progress || ::isatty(2);
  options.model_flags = a.source.flags();
  options.replay = !a.no_replay;
  const auto scenarios = oracle::default_scenarios(
      weights.config, a.seed, a.source.checkpoint.empty() && a.source.activations.empty());
  report = oracle::run_conformance(weights, scenarios, options);
  if (report.results.empty()) throw InputError("--filter: '" + a.filter + "' matches no scenario");
  std::fputs(oracle::format_table(report).c_str(), stdout);
  std::fflush(stdout);
  return write_outputs(report.passed() ? 0 : 1, outputs);
}

}  // namespace

Verb add_conformance_verb(CLI::App& app) {
  auto a = std::make_shared<ConformanceArgs>();
  CLI::App* command = app.add_subcommand(
      "conformance",
      "The main job: every scenario (prefill, incremental decode, chunked prefill then decode, "
      "prefill without the mask; sequences of 1, a few and n_ctx tokens; padded batches "
      "prefilled and decoded together, each row against its own truth) x every registered "
      "kernel set, judged against the 50-digit reference. Exit 1 when anything fails");
  a->source.add_options(*command);
  add_seed_option(*command, a->seed, "Seed of the token sequences (printed; default 1)");
  command->add_option("--kernel", a->kernels, "Only these kernel sets (repeatable)");
  command->add_option("--filter", a->filter,
                      "Only results whose name (\"scenario [kernel]\") contains this text");
  command->add_option("--json", a->json, "Write every figure as JSON");
  command->add_option("--junit", a->junit, "Write JUnit XML (one test case per scenario x kernel)");
  add_trace_level_option(*command, a->trace_level);
  command->add_flag("--no-replay", a->no_replay,
                    "Skip replay (every op of every layer run alone on the truth's inputs)");
  add_threads_option(*command, a->threads);
  command->add_flag("--progress", a->progress, "One line per result on stderr");
  return Verb{command, [a] { return run_conformance_verb(*a); }};
}

}  // namespace gpt2::cli
