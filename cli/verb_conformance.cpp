// gpt2-oracle conformance: the main job. Every scenario × every registered
// kernel set against the reference; a table on stdout, --json, --junit.
//
// The plan comes first (oracle/plan.h): the scenarios whose truths fit
// --budget-minutes on this machine, printed before any work with what was
// shortened or dropped. Then each row is printed as soon as it is judged,
// and --json / --junit (regular files) are rewritten after every result
// with the results so far, marked incomplete until the last: a run stopped
// by a CI timeout or a signal leaves what it had judged.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <tuple>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "model/profile.h"
#include "model/shard.h"
#include "oracle/conformance.h"
#include "oracle/flips.h"
#include "oracle/plan.h"
#include "oracle/report.h"
#include "oracle/truth_cache.h"

namespace gpt2::cli {

namespace {

struct ConformanceArgs {
  ModelSource source;
  uint64_t seed = 1;
  std::vector<std::string> kernels;
  PluginInput plugins;
  std::string filter;
  std::string json;
  std::string junit;
  std::string trace_level = "ops";
  bool no_replay = false;
  int threads = 0;
  bool progress = false;
  TruthCacheOption cache;
  double budget_minutes = 10;
  bool full_context = false;
  std::string precision = "50";
  std::string profile;  // --profile NAME|FILE; empty: each set's own
  bool force = false;
  std::string shard;  // --shard K/N
};

// The truths' precision and dd certificates (ConformanceReport::dd_*) of the
// run into the report the verb writes.
void copy_truth_tally(const oracle::ConformanceReport& from, oracle::ConformanceReport& to) {
  to.truth_precision = from.truth_precision;
  to.dd_truths = from.dd_truths;
  to.dd_min_certified_digits = from.dd_min_certified_digits;
  to.dd_fallbacks = from.dd_fallbacks;
}

// Speeds no machine beats, per thread: a plan whose truths take under a
// second even at these is not worth measuring the machine for.
oracle::PlanSpeeds optimistic_speeds(int threads) {
  oracle::PlanSpeeds s;
  s.threads = threads;
  s.digits50 = {15e-9 / threads, 0.5e-6 / threads};
  s.stochastic = {2e-9 / threads, 1e-8 / threads};
  s.float32 = {0.2e-9, 1e-8};
  s.float64 = {0.2e-9 / threads, 1e-8 / threads};
  s.dd = {0.3e-9 / threads, 1e-8 / threads};
  s.measured = "not measured: a small plan";
  return s;
}

// Whether an output is rewritten as the run goes: a regular file (or one
// not there yet) is replaced atomically each time; a device or a FIFO is
// written once, at the end.
bool rewritable(const std::string& path) {
  // A descriptor (--json /dev/stdout) takes each write as more output: it
  // gets the report once, at the end.
  if (path.empty() || own_descriptor_named_by(path) >= 0) return false;
  const PathKind kind = path_kind(path);
  return kind == PathKind::missing || kind == PathKind::regular_file;
}

// The results of one shard of the run (conformance --shard K/N): the plan's
// results are grouped by the truth they need (a scenario's sequence and
// mask, as given or at act=gpt2; a batch scenario alone), so that a truth
// is computed by one shard only, and the groups are given out by their
// estimated cost at fixed speeds (the same on every runner, whatever its
// machine: oracle/plan.h's estimate at optimistic_speeds(1)). Keeps in
// `scenarios` the shard's own, in the run's order.
oracle::ShardOfRun shard_the_run(const Config& config, const oracle::ConformancePlan& plan,
                                 const oracle::PlanOptions& plan_options, const Shard& shard,
                                 std::vector<oracle::Scenario>& scenarios) {
  const oracle::PlanSpeeds fixed = optimistic_speeds(1);
  std::map<std::tuple<bool, std::vector<int>, Mask>, int> group_of_truth;
  std::vector<double> group_cost;
  std::vector<int> scenario_group;  // per plan scenario
  std::vector<int> result_group;    // per result of the run
  std::string names;
  for (const auto& p : plan.scenarios) {
    const oracle::Scenario& s = p.scenario;
    int group = static_cast<int>(group_cost.size());
    if (!s.is_batch()) {
      const auto [it, added] =
          group_of_truth.try_emplace({s.gpt2_activations, s.tokens, s.mask}, group);
      group = it->second;
      if (added)
        group_cost.push_back(oracle::truth_seconds(config, static_cast<int>(s.tokens.size()),
                                                   s.mask, fixed, plan_options.replay));
    } else {
      double cost = 0;
      for (const auto& row : s.batch)
        cost +=
            oracle::truth_seconds(config, static_cast<int>(row.size()), Mask::causal, fixed, false);
      group_cost.push_back(cost);
    }
    scenario_group.push_back(group);
    for (const auto* set : plan_options.sets) {
      const std::string name = s.name + " [" + set->name + "]";
      if (s.is_batch() && !set->runs_batches) continue;  // as run_conformance
      if (!plan_options.filter.empty() && name.find(plan_options.filter) == std::string::npos)
        continue;
      result_group.push_back(group);
      names += name + "\n";
    }
  }
  // A group with no result (all filtered out) costs nothing to any shard.
  std::vector<bool> has_results(group_cost.size(), false);
  for (int g : result_group) has_results[g] = true;
  for (size_t g = 0; g < group_cost.size(); ++g)
    if (!has_results[g]) group_cost[g] = 0;
  const std::vector<int> group_shard = assign_to_shards(group_cost, shard.count);

  oracle::ShardOfRun out;
  out.shard = shard;
  out.results_total = static_cast<int>(result_group.size());
  for (size_t i = 0; i < result_group.size(); ++i)
    if (group_shard[result_group[i]] == shard.index)
      out.result_indices.push_back(static_cast<int>(i));
  out.plan_sha256 = sha256_hex(names);
  scenarios.clear();
  for (size_t i = 0; i < plan.scenarios.size(); ++i)
    if (group_shard[scenario_group[i]] == shard.index)
      scenarios.push_back(plan.scenarios[i].scenario);
  return out;
}

int run_conformance_verb(const ConformanceArgs& a) {
  oracle::ConformanceReport report;
  const std::vector<Output> outputs = {
      {"--json", a.json, [&] { return oracle::format_json(report); }},
      {"--junit", a.junit, [&] { return oracle::format_junit(report); }}};
  check_outputs(outputs);
  // A plugin's sets join the registry; without --kernel, only they are run.
  const std::vector<std::string> plugin_sets = a.plugins.load();
  const oracle::TruthCache cache(a.cache.directory());
  const Config config = a.source.config();
  const int threads = resolve_threads(a.threads);
  const bool preset = a.source.checkpoint.empty() && a.source.activations.empty();
  // Before any work: a bad --shard or GTEST_* variable costs nothing.
  const std::optional<Shard> shard = resolve_shard(a.shard);
  // A bad --profile (unknown name, a file that is not a profile) also before any work.
  const std::optional<Profile> profile =
      a.profile.empty() ? std::nullopt : std::optional<Profile>(load_profile(a.profile));
  if (profile) oracle::check_judgeable(*profile);

  oracle::PlanOptions plan_options;
  plan_options.seed = a.seed;
  plan_options.preset = preset;
  plan_options.budget_seconds = a.budget_minutes * 60;
  plan_options.full_context = a.full_context;
  plan_options.replay = !a.no_replay;
  plan_options.filter = a.filter;
  plan_options.profile = profile;
  const reference::Precision precision = reference::parse_precision(a.precision);
  if (precision != reference::Precision::digits50 && precision != reference::Precision::dd)
    throw InputError("--precision: the truths are at 50 digits or dd, not " + a.precision);
  plan_options.dd_truth = precision == reference::Precision::dd;
  const std::vector<std::string>& chosen = a.kernels.empty() ? plugin_sets : a.kernels;
  if (chosen.empty()) {
    // Every registered set, each under its own precision profile.
    for (const auto& k : optimized::kernels()) plan_options.sets.push_back(&k);
  } else {
    for (const auto& name : chosen) plan_options.sets.push_back(&optimized::find_kernel(name));
  }
  // The machine is measured (or its measurement read from the truth cache)
  // only when the plan might not fit.
  oracle::PlanSpeeds speeds = optimistic_speeds(threads);
  oracle::ConformancePlan plan = oracle::plan_conformance(config, plan_options, speeds);
  if (plan.full_seconds >= 1) {
    speeds = oracle::plan_speeds(cache, threads);
    plan = oracle::plan_conformance(config, plan_options, speeds);
  }
  if (plan.scenarios.empty()) throw InputError("--filter: '" + a.filter + "' matches no scenario");
  Estimate e;
  e.what = "conformance on " + a.source.describe() + " (" + std::to_string(plan.scenarios.size()) +
           " scenarios)";
  e.bytes = std::max(a.source.load_bytes(config), plan.bytes);
  check_memory("conformance", e, a.force);

  report.model = a.source.describe();
  report.seed = a.seed;
  report.config = config;
  report.budget_rule = oracle::describe_budget_rule();
  report.plan = plan.lines(plan_options, speeds);
  report.complete = false;
  std::vector<std::pair<std::string, std::string>> rows;
  for (const auto& p : plan.scenarios)
    for (const auto* set : plan_options.sets) {
      const std::string name = p.scenario.name + " [" + set->name + "]";
      if (p.scenario.is_batch() && !set->runs_batches) continue;  // KernelSet::runs_batches
      if (a.filter.empty() || name.find(a.filter) != std::string::npos)
        rows.emplace_back(p.scenario.name, set->name);
    }
  report.planned_results = static_cast<int>(rows.size());
  const oracle::TableWidths widths = oracle::table_widths(rows, !a.no_replay);
  std::vector<oracle::Scenario> scenarios = plan.scenario_list();
  if (shard) {
    report.shard = shard_the_run(config, plan, plan_options, *shard, scenarios);
    report.planned_results = static_cast<int>(report.shard->result_indices.size());
  }
  std::fputs(oracle::format_table_head(report, widths).c_str(), stdout);
  if (shard)
    std::printf("shard %s: %d of the run's %d results\n\n", shard->text().c_str(),
                report.planned_results, report.shard->results_total);
  std::fflush(stdout);

  const Weights<float> weights = a.source.load();
  oracle::ConformanceOptions options;
  options.model = a.source.describe();
  options.seed = a.seed;
  options.threads = threads;
  options.truth_precision.precision = precision;
  options.profile = profile;
  options.kernels = a.kernels.empty() ? plugin_sets : a.kernels;
  options.filter = a.filter;
  options.trace_level = parse_trace_level(a.trace_level);
  options.progress = a.progress || ::isatty(2);
  options.model_flags = a.source.flags() + a.plugins.flags();
  options.replay = !a.no_replay;
  options.truth_cache = &cache;
  bool write_failed = false;
  options.on_result = [&](const oracle::ConformanceReport& so_far) {
    std::fputs(oracle::format_table_row(so_far.results.back(), widths).c_str(), stdout);
    std::fflush(stdout);
    if (write_failed) return;
    report.results = so_far.results;
    copy_truth_tally(so_far, report);
    // The results so far, marked incomplete, in every output that can be
    // replaced; a failure here is reported once, at the end.
    for (const Output& o : outputs) {
      if (!rewritable(o.path)) continue;
      try {
        write_file_atomic(o.path, o.content());
      } catch (const InputError&) {
        write_failed = true;
      }
    }
  };
  const oracle::ConformanceReport done = oracle::run_conformance(weights, scenarios, options);
  GPT2_CHECK(!shard || static_cast<int>(done.results.size()) == report.planned_results,
             "a shard judged the results it planned");
  report.results = done.results;
  copy_truth_tally(done, report);
  report.complete = true;
  std::fputs(oracle::format_table_tail(report).c_str(), stdout);
  std::fflush(stdout);
  if (options.progress && cache.enabled()) {
    const oracle::CacheStats& s = cache.stats();
    std::fprintf(stderr, "truth cache %s: %d read, %d computed%s\n", cache.dir().c_str(), s.hits,
                 s.computed,
                 s.written ? (", " + std::to_string(s.written) + " stored").c_str() : "");
  }
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
      "kernel set, each judged under its own precision profile (or --profile) against the "
      "50-digit reference. Exit 1 when anything fails");
  a->source.add_options(*command);
  add_seed_option(*command, a->seed, "Seed of the token sequences (printed; default 1)");
  command->add_option("--kernel", a->kernels, "Only these kernel sets (repeatable)");
  a->plugins.add_options(*command);
  command->add_option("--filter", a->filter,
                      "Only results whose name (\"scenario [kernel]\") contains this text");
  command->add_option("--json", a->json, "Write every figure as JSON");
  command->add_option("--junit", a->junit, "Write JUnit XML (one test case per scenario x kernel)");
  add_trace_level_option(*command, a->trace_level);
  command->add_flag("--no-replay", a->no_replay,
                    "Skip replay (every op of every layer run alone on the truth's inputs)");
  add_threads_option(*command, a->threads);
  command->add_flag("--progress", a->progress, "One line per result on stderr");
  a->cache.add_options(*command);
  command
      ->add_option("--budget-minutes", a->budget_minutes,
                   "Time for the truths on this machine (default 10): longer scenarios are "
                   "shortened or dropped, and the plan says so first")
      ->check(CLI::Range(0.0, 1e6));
  command->add_flag("--full-context", a->full_context,
                    "Every default scenario, the full context included, whatever it costs");
  command->add_option("--precision", a->precision,
                      "The truths: 50 (digits, default) or dd (double-double, certified against "
                      "50 digits on the first 8 positions and by an a-priori bound beyond; a "
                      "truth that cannot show 20 digits is computed at 50)");
  command->add_option("--profile", a->profile,
                      "Judge every set under this precision profile (a name from `gpt2-oracle "
                      "profiles`, or a profile JSON file) instead of each set's own");
  add_force_option(*command, a->force);
  command->add_option(
      "--shard", a->shard,
      "Run the K-th of N deterministic slices of the results (K/N, from 1/N to N/N; each truth "
      "in one slice only); the report records which, for `report merge`. Without it, "
      "GTEST_TOTAL_SHARDS and GTEST_SHARD_INDEX (from 0) are honoured when set");
  return Verb{command, [a] { return run_conformance_verb(*a); }};
}

}  // namespace gpt2::cli
