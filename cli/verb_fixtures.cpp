// gpt2-oracle fixtures: golden cases other runtimes check themselves against.
//   fixtures generate --model NAME | --checkpoint DIR --tokens ... --out CASEDIR
//   fixtures verify CASEDIR... [--kernel NAME]      this engine's kernel sets
//   fixtures verify CASEDIR --trace FILE           a trace from any runtime
// The format is documented in fixtures/README.md.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/verbs.h"
#include "fixtures/case_digest.h"
#include "fixtures/generate.h"
#include "fixtures/manifest.h"
#include "fixtures/verify.h"
#include "fixtures/verify_report.h"
#include "model/error.h"
#include "model/files.h"
#include "model/profile.h"
#include "model/shard.h"
#include "model/tokens.h"
#include "model/utf8.h"
#include "oracle/flips.h"
#include "oracle/plan.h"
#include "oracle/truth_cache.h"
#include "reference/cost.h"
#include "reference/team.h"

namespace gpt2::cli {

namespace {

struct GenerateArgs {
  ModelSource source;
  TokenInput input;
  std::string mask = "causal";
  std::string precision = "50";
  std::string profile;  // --profile NAME|FILE; empty: f32
  std::string out;
  std::string trace_level = "blocks";
  uint64_t seed = 1;
  int threads = 0;
  bool replace = false;
  TruthCacheOption cache;
  bool force = false;
  bool progress = false;
};

struct VerifyArgs {
  std::vector<std::string> cases;
  std::vector<std::string> kernels;
  PluginInput plugins;
  std::string trace;
  std::string checkpoint;
  std::string json;
  std::string junit;
  int threads = 0;
  bool progress = false;
};

// The truth cache's directory, or none in an MPI job: its ranks would race
// on the same entries, and a rank finding a truth another does not would
// leave the others waiting in an exchange.
std::string truth_cache_directory(const TruthCacheOption& option) {
  if (!mpi_team()) return option.directory();
  if (writes_outputs() && (!option.disabled))
    std::fprintf(stderr, "gpt2-oracle: note: under mpirun the truth cache is not used\n");
  return "";
}

// The memory and time of a case, estimated before the weights are read: the
// truth with its ensemble and budgets (oracle/plan.h), then the same pass
// at 50 and 100 digits for the certification, then the case's files. With
// --precision dd the truth is at double-double and its certification is the
// 50-digit pass alone (oracle/dd_truth.h).
void check_generate_resources(const GenerateArgs& a, const Config& config, int T, int threads,
                              const oracle::TruthCache& cache) {
  using reference::Precision;
  const bool dd = a.precision == "dd";
  const TraceLevel level = parse_trace_level(a.trace_level);
  const Mask mask = a.mask == "none" ? Mask::none : Mask::causal;
  const uint64_t weights = reference::weight_bytes(config);
  const uint64_t truth = weights /* a kernel set's copy */ +
                         reference::run_bytes(config, T, dd ? Precision::dd : Precision::digits50,
                                              TraceLevel::ops, Mode::full) +
                         reference::trace_elements(config, T, TraceLevel::ops) * sizeof(double);
  const uint64_t certification =
      dd ? reference::run_bytes(config, T, Precision::dd, TraceLevel::ops, Mode::full) +
               reference::run_bytes(config, T, Precision::digits50, TraceLevel::ops, Mode::full)
         : reference::run_bytes(config, T, Precision::digits50, level, Mode::full) +
               reference::run_bytes(config, T, Precision::digits100, level, Mode::full);
  Estimate e;
  e.what = "a case of " + std::to_string(T) + " token" + (T == 1 ? "" : "s") + " of " +
           a.source.describe();
  e.bytes = std::max(a.source.load_bytes(config),
                     weights + std::max({truth, certification, weights /* the files */}));
  check_memory("fixtures generate", e, a.force);
  const reference::Work forward = reference::forward_work(config, T, mask);
  if (!reference::estimate_time(forward, dd ? Precision::digits50 : Precision::digits100, threads))
    return;  // short
  const oracle::PlanSpeeds speeds = oracle::plan_speeds(cache, threads);
  if (dd) {
    // A case checks its dd truth on every position.
    e.seconds = oracle::truth_seconds(config, T, mask, speeds, false, true, T);
  } else {
    const reference::Speed digits100 = reference::calibrate(Precision::digits100, threads);
    e.seconds = oracle::truth_seconds(config, T, mask, speeds, false) +
                speeds.digits50.seconds(forward) + digits100.seconds(forward);
  }
  e.how = "speed " + speeds.measured + ", on " + std::to_string(threads) + " threads";
  print_estimate("fixtures generate", e);
}

// Generates the case of `prompt` on a.source into a.out, once its inputs
// are checked (generate, generate-set).
int generate_case(const GenerateArgs& a, const Config& config, Prompt prompt,
                  const oracle::TruthCache& cache) {
  const int threads = resolve_threads(a.threads);
  // A bad --profile before any work.
  const Profile profile = a.profile.empty() ? find_profile("f32") : load_profile(a.profile);
  oracle::check_judgeable(profile);
  check_generate_resources(a, config, static_cast<int>(prompt.ids.size()), threads, cache);
  const Weights<float> weights = a.source.load();
  fixtures::GenerateOptions o;
  if (a.source.checkpoint.empty())
    o.preset = a.source.model.empty() ? "tiny" : a.source.model;
  else
    o.checkpoint_dir = a.source.checkpoint;
  o.truth_cache = &cache;
  o.progress = a.progress || ::isatty(2);
  o.tokens = std::move(prompt.ids);
  o.text = std::move(prompt.text);  // recorded in case.json
  o.mask = a.mask == "none" ? Mask::none : Mask::causal;
  o.precision = a.precision;
  o.profile = profile;
  o.baseline_seed = a.seed;
  o.trace_level = parse_trace_level(a.trace_level);
  o.threads = threads;
  o.replace = a.replace;
  o.write_files = writes_outputs();
  o.progress = o.progress && writes_outputs();
  // Under mpirun, every 50- and 100-digit pass of the case is split across
  // the ranks (the truth, the certification); the rest runs on each.
  const reference::TeamScope team(mpi_team());
  const fixtures::GenerateResult r = fixtures::generate_case(weights, o, a.out);
  const fixtures::Case& c = r.written;
  const bool dd = c.precision == "dd";
  if (!r.certified) {
    std::fprintf(stderr,
                 "gpt2-oracle: fixtures generate: the truth is certified to only %d digits "
                 "(the %s must agree to %d); nothing written\n",
                 r.min_certified_digits,
                 dd ? "double-double and 50-digit references" : "50- and 100-digit references",
                 fixtures::min_certified_digits(c.precision));
    return 1;
  }
  std::printf(
      "wrote %s: %s, %d tokens, mask %s, truth at %s certified to %d digits, "
      "weights %s\n",
      a.out.c_str(), a.source.describe().c_str(), c.n_tokens(), mask_name(c.mask),
      dd ? "double-double" : (c.precision + " digits").c_str(), r.min_certified_digits,
      c.weights.embedded ? "embedded" : ("external (sha256 " + c.weights.sha256 + ")").c_str());
  std::fflush(stdout);
  return 0;
}

int generate(const GenerateArgs& a) {
  if (!a.source.activations.empty())
    throw InputError(
        "fixtures generate: --activations applies to verbs that run a preset; a case names its "
        "preset, so export the scaled preset (gpt2-oracle export --activations gpt2) and "
        "generate from that checkpoint");
  if (writes_outputs()) fixtures::check_case_output(a.out, a.replace);  // before any work
  const oracle::TruthCache cache(truth_cache_directory(a.cache));
  const Config config = a.source.config();
  std::optional<Gpt2Tokenizer> tokenizer;
  Prompt prompt = a.input.resolve(config, a.source, tokenizer);
  return generate_case(a, config, std::move(prompt), cache);
}

// fixtures generate-set MANIFEST --out DIR [--shard K/N]: the manifest's
// cases (fixtures/manifest.h), or the K-th of N slices of them, each into
// DIR/NAME as `fixtures generate` writes one.
struct GenerateSetArgs {
  GenerateArgs common;  // precision, seed, trace level, threads, cache, replace, force, progress
  std::string manifest;
  std::string shard;
};

int generate_set(const GenerateSetArgs& s) {
  const std::optional<Shard> shard = resolve_shard(s.shard);
  // A bad --profile before any work (generate_case reads it again per case).
  if (!s.common.profile.empty()) oracle::check_judgeable(load_profile(s.common.profile));
  const std::vector<fixtures::ManifestCase> cases =
      fixtures::parse_manifest(read_file(s.manifest), s.manifest);
  // Every case of the shard is checked (model, input, output directory)
  // before any is generated: bad input costs no computation.
  struct Ready {
    const fixtures::ManifestCase* c;
    GenerateArgs args;
    Config config;
    Prompt prompt;
  };
  std::vector<Ready> ready;
  for (const auto& c : cases) {
    const std::string where = c.where(s.manifest);
    try {
      GenerateArgs a = s.common;
      a.source.model = c.model;
      a.source.checkpoint = c.checkpoint;
      a.mask = c.mask == Mask::none ? "none" : "causal";
      a.out = (std::filesystem::path(s.common.out) / c.name).string();
      const Config config = a.source.config();
      Prompt prompt;
      if (!c.tokens.empty()) {
        prompt.ids = parse_tokens(c.tokens, config, "tokens");
      } else {
        std::string text = read_file(c.text_file);
        require_utf8(text, c.text_file);
        std::optional<Gpt2Tokenizer> tokenizer = a.source.tokenizer(config, "text-file");
        prompt.ids = tokenizer->encode(text, "text-file");
        validate_tokens(prompt.ids, config, "text-file " + c.text_file);
        prompt.text = std::move(text);
      }
      ready.push_back({&c, std::move(a), config, std::move(prompt)});
    } catch (const InputError& e) {
      throw InputError(where + ": " + e.what());
    }
  }
  // The slice: cases dealt out by their length (the truth's cost grows
  // with it), the same on every runner.
  std::vector<double> costs;
  costs.reserve(ready.size());
  for (const auto& r : ready) costs.push_back(static_cast<double>(r.prompt.ids.size()));
  const std::vector<int> shard_of = assign_to_shards(costs, shard ? shard->count : 1);
  std::vector<Ready*> mine;
  for (size_t i = 0; i < ready.size(); ++i)
    if (!shard || shard_of[i] == shard->index) mine.push_back(&ready[i]);
  if (std::error_code ec;
      writes_outputs() && (std::filesystem::create_directories(s.common.out, ec), ec))
    throw InputError("--out " + s.common.out + ": cannot create the directory: " + ec.message());
  for (Ready* r : mine) {
    if (!writes_outputs()) break;
    try {
      fixtures::check_case_output(r->args.out, r->args.replace);
    } catch (const InputError& e) {
      throw InputError(r->c->where(s.manifest) + ": " + e.what());
    }
  }
  std::printf(
      "%s: %zu cases%s\n", s.manifest.c_str(), mine.size(),
      shard
          ? (" (shard " + shard->text() + " of " + std::to_string(cases.size()) + " cases)").c_str()
          : "");
  std::fflush(stdout);
  const oracle::TruthCache cache(truth_cache_directory(s.common.cache));
  int verdict = 0;
  for (Ready* r : mine)
    verdict = std::max(verdict, generate_case(r->args, r->config, std::move(r->prompt), cache));
  return verdict;
}

int verify(const VerifyArgs& a) {
  if (!a.trace.empty() && a.cases.size() != 1)
    throw InputError("fixtures verify: --trace judges one case (given " +
                     std::to_string(a.cases.size()) + ")");
  if (!a.trace.empty() && !a.kernels.empty())
    throw InputError("fixtures verify: --trace and --kernel exclude each other");
  if (!a.trace.empty() && !a.plugins.libraries.empty())
    throw InputError("fixtures verify: --trace and --plugin exclude each other");
  std::vector<fixtures::CaseVerification> results;
  const std::vector<Output> outputs = {
      {"--json", a.json, [&] { return fixtures::format_verify_json(results); }},
      {"--junit", a.junit, [&] { return fixtures::format_verify_junit(results); }}};
  check_outputs(outputs);
  // A plugin's sets join the registry; without --kernel, only they are run.
  const std::vector<std::string> plugin_sets = a.plugins.load();
  // Every case is read and integrity-checked before any work starts.
  std::vector<fixtures::Case> cases;
  for (const auto& dir : a.cases) {
    cases.push_back(fixtures::read_case(dir));
    if (path_kind(cases.back().path(fixtures::kDigestFile)) == PathKind::missing)
      std::fprintf(stderr,
                   "gpt2-oracle: note: %s has no %s (format_version %d predates it): its content "
                   "is not protected; regenerate the case to protect it\n",
                   cases.back().path(fixtures::kCaseFile).c_str(), fixtures::kDigestFile,
                   cases.back().format_version);
  }

  if (!a.trace.empty()) {
    results.push_back(fixtures::verify_trace(cases[0], a.trace));
  } else {
    fixtures::VerifyOptions o;
    o.kernels = a.kernels.empty() ? plugin_sets : a.kernels;
    o.checkpoint_dir = a.checkpoint;
    o.threads = resolve_threads(a.threads);
    o.progress = a.progress;
    for (const auto& c : cases) results.push_back(fixtures::verify_kernels(c, o));
  }
  std::fputs(fixtures::format_verify_table(results).c_str(), stdout);
  std::fflush(stdout);
  const bool passed = std::all_of(results.begin(), results.end(),
                                  [](const fixtures::CaseVerification& r) { return r.passed(); });
  return write_outputs(passed ? 0 : 1, outputs);
}

}  // namespace

Verb add_fixtures_verb(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "fixtures",
      "Golden cases (case.json + expected.safetensors): generate them, or verify "
      "this engine or another runtime's trace against them");
  command->require_subcommand(1);

  auto g = std::make_shared<GenerateArgs>();
  CLI::App* gen = command->add_subcommand(
      "generate",
      "Compute a case (reference at 50 and 100 digits, float32 baseline) and write "
      "it atomically; the same input gives byte-identical files");
  g->source.add_options(*gen);
  g->input.add_options(*gen);
  gen->add_option("--mask", g->mask, "causal (default) or none")
      ->check(CLI::IsMember({"causal", "none"}));
  gen->add_option("--precision", g->precision,
                  "The truth: 50 (digits, default), 100, or dd (double-double, certified against "
                  "50 digits on every position; written as a 50-digit case when it cannot show "
                  "20 digits)")
      ->check(CLI::IsMember({"50", "100", "dd"}));
  const char* profile_help =
      "The precision profile the truth and budgets are for (a name from `gpt2-oracle "
      "profiles`, or a profile JSON file; default f32): the truth on the weights as "
      "it rounds them, with its roundings, and a format_version 3 case";
  gen->add_option("--profile", g->profile, profile_help);
  add_seed_option(*gen, g->seed,
                  "Seed of the baseline ensemble's stochastic runs and permutation (default 1)");
  add_trace_level_option(*gen, g->trace_level);
  gen->add_option("--out", g->out, "Case directory to write (must not exist)")->required();
  gen->add_flag("--replace", g->replace,
                "Replace an existing case directory (only a gpt2-oracle case: nothing else is "
                "ever deleted)");
  add_threads_option(*gen, g->threads);
  g->cache.add_options(*gen);
  add_force_option(*gen, g->force);
  gen->add_flag("--progress", g->progress, "The reference's stages on stderr");

  auto gs = std::make_shared<GenerateSetArgs>();
  CLI::App* gen_set = command->add_subcommand(
      "generate-set",
      "Generate the cases of a manifest (one per line: NAME model=NAME|checkpoint=DIR "
      "tokens=IDS|text-file=FILE causal|none; fixtures/README.md), each into --out/NAME as "
      "`fixtures generate` writes one; with --shard K/N only the K-th of N deterministic slices");
  gen_set->add_option("manifest", gs->manifest, "The manifest file")->required();
  gen_set->add_option("--out", gs->common.out, "Directory of the cases (created if missing)")
      ->required();
  gen_set->add_option("--shard", gs->shard,
                      "Only the K-th of N slices of the cases (K/N; without it "
                      "GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX are honoured when set)");
  gen_set
      ->add_option("--precision", gs->common.precision,
                   "The truth: 50 (digits, default), 100 or dd, as for fixtures generate")
      ->check(CLI::IsMember({"50", "100", "dd"}));
  gen_set->add_option("--profile", gs->common.profile,
                      std::string(profile_help) + ", for every case of the set");
  add_seed_option(*gen_set, gs->common.seed,
                  "Seed of the baseline ensemble's stochastic runs and permutation (default 1)");
  add_trace_level_option(*gen_set, gs->common.trace_level);
  gen_set->add_flag("--replace", gs->common.replace,
                    "Replace existing case directories (only gpt2-oracle cases)");
  add_threads_option(*gen_set, gs->common.threads);
  gs->common.cache.add_options(*gen_set);
  add_force_option(*gen_set, gs->common.force);
  gen_set->add_flag("--progress", gs->common.progress, "The reference's stages on stderr");

  auto v = std::make_shared<VerifyArgs>();
  CLI::App* ver = command->add_subcommand(
      "verify",
      "Judge this engine's kernel sets (default: all), or a trace from another runtime "
      "(--trace), against cases with their stored budget. Exit 1 when anything fails");
  ver->add_option("cases", v->cases, "Case directories")->required();
  auto* kernel =
      ver->add_option("--kernel", v->kernels,
                      "Kernel set to check (repeatable; default: every registered float32 set)");
  auto* trace = ver->add_option("--trace", v->trace,
                                "A trace (safetensors, F32 or F64; any subset of the trace "
                                "tensors, op tensors included, that has logits) to judge");
  kernel->excludes(trace);
  v->plugins.add_options(*ver);
  ver->add_option("--checkpoint", v->checkpoint,
                  "The checkpoint directory of a case that references external weights");
  ver->add_option("--json", v->json, "Write every figure as JSON");
  ver->add_option("--junit", v->junit, "Write JUnit XML (one test case per case x run x kernel)");
  ver->add_flag("--progress", v->progress, "One line per result on stderr");
  add_threads_option(*ver, v->threads);

  return Verb{command, [g, gs, v, gen, gen_set, ver] {
                if (gen->parsed()) return generate(*g);
                if (gen_set->parsed()) return generate_set(*gs);
                if (ver->parsed()) return verify(*v);
                throw InputError("fixtures: expected generate, generate-set or verify");
              }};
}

}  // namespace gpt2::cli
