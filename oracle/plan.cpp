#include "oracle/plan.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "model/error.h"
#include "model/files.h"
#include "model/memory.h"
#include "oracle/dd_truth.h"
#include "oracle/stochastic_float.h"
#include "oracle/tolerance.h"
#include "reference/calibration.h"

namespace gpt2::oracle {

using reference::Work;

// ---- speeds ---------------------------------------------------------------------------

PlanSpeeds measure_plan_speeds(int threads) {
  PlanSpeeds s;
  s.threads = std::max(threads, 1);
  s.digits50 = reference::calibrate(reference::Precision::digits50, s.threads);
  s.stochastic = reference::measure_speed<StochasticFloat>(s.threads);
  s.float32 = reference::calibrate(reference::Precision::f32, 1);
  s.float64 = reference::calibrate(reference::Precision::f64, s.threads);
  s.dd = reference::calibrate(reference::Precision::dd, s.threads);
  s.measured = "measured now";
  return s;
}

namespace {

// What identifies this machine for a kept calibration: its name, CPU model
// and core count.
std::string machine_text() {
  struct utsname u {};
  std::string text = ::uname(&u) == 0 ? std::string(u.nodename) + " " + u.machine : "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      text += " " + line;
      break;
    }
  return text + " cores " + std::to_string(std::thread::hardware_concurrency());
}

std::vector<double> speed_array(const reference::Speed& s) {
  return {s.multiply_add_seconds, s.transcendental_seconds};
}

reference::Speed speed_of(const CacheEntry& e, const std::string& name) {
  const std::vector<double>& a = e.array(name, 2, "truth cache entry " + e.key);
  for (double v : a)
    if (!(v > 0 && v < 1))
      throw InputError("truth cache entry " + e.key + ": a speed out of range");
  return {a[0], a[1]};
}

}  // namespace

PlanSpeeds plan_speeds(const TruthCache& cache, int threads) {
  TruthKey k;
  k.kind = "calibration";
  k.extra = "threads " + std::to_string(threads) + "; machine " + machine_text();
  const std::string key = k.key();
  return cache.fetch<PlanSpeeds>(
      "calibration", key, "the speed of this machine on " + std::to_string(threads) + " threads",
      [&](const CacheEntry& e) {
        PlanSpeeds s;
        s.threads = threads;
        s.digits50 = speed_of(e, "digits50");
        s.stochastic = speed_of(e, "stochastic");
        s.float32 = speed_of(e, "float32");
        s.float64 = speed_of(e, "float64");
        // Entries kept before the dd tier have no dd speed: measured now (0.1 s).
        const bool has_dd = std::any_of(e.arrays.begin(), e.arrays.end(),
                                        [](const auto& a) { return a.first == "dd"; });
        s.dd = has_dd ? speed_of(e, "dd") : reference::calibrate(reference::Precision::dd, threads);
        s.measured = "measured " + e.field("date", "truth cache entry " + e.key) +
                     ", kept in the truth cache";
        return s;
      },
      [&] { return measure_plan_speeds(threads); },
      [&](const PlanSpeeds& s) {
        CacheEntry e;
        e.arrays = {{"digits50", speed_array(s.digits50)},
                    {"stochastic", speed_array(s.stochastic)},
                    {"float32", speed_array(s.float32)},
                    {"float64", speed_array(s.float64)},
                    {"dd", speed_array(s.dd)}};
        char date[32];
        const std::time_t now = std::time(nullptr);
        std::strftime(date, sizeof date, "%Y-%m-%d %H:%M", std::localtime(&now));
        e.fields["date"] = date;
        return e;
      });
}

static_assert(kDdCheckedTokens == 8, "truth_seconds' default dd_checked (plan.h)");

double truth_seconds(const Config& c, int T, Mask mask, const PlanSpeeds& s, bool replay, bool dd,
                     int dd_checked) {
  const Work forward = reference::forward_work(c, T, mask);
  const Work blocks = reference::blocks_work(c, T, mask);
  const Work logits = reference::logits_work(c, T);
  // The reordered-sum sets are plain float32 loops on one thread; the
  // reference at float runs on all of them.
  const double ensemble = s.float32.seconds(forward) / s.threads +
                          kStochasticRuns * s.stochastic.seconds(forward) +
                          3 * s.float32.seconds(forward);
  // Gains: every op's map and the whole block, at the truth and along
  // kGainDirections directions, at double; the logits' term scale (T·V·C).
  const double gains = (kGainDirections + 1) * s.float64.seconds(blocks * 2 + logits) +
                       s.float64.seconds(logits) * s.threads;
  const int checked = mask == Mask::causal ? std::min(T, dd_checked) : T;
  const double truth =
      dd ? s.dd.seconds(forward) + s.digits50.seconds(reference::forward_work(c, checked, mask))
         : s.digits50.seconds(forward);
  double seconds = truth + ensemble + gains;
  if (replay)
    seconds += s.digits50.seconds(forward) + ensemble + s.float64.seconds(logits) * s.threads;
  return seconds;
}

// ---- the plan ---------------------------------------------------------------------------

namespace {

// A group of default_scenarios: one sequence length, as given or at act=gpt2.
struct Group {
  int T = 1;
  bool act = false;
  int priority = 0;    // lower is kept first
  int order = 0;       // position in the run
  bool batch = false;  // the batch scenarios (batch_scenarios), T unused
};

std::string group_name(const Group& g) {
  if (g.batch) return "batch";
  return std::string("T=") + std::to_string(g.T) + (g.act ? " act=gpt2" : "");
}

// The profile a set is judged under (PlanOptions::profile, else its own).
const Profile& judged_profile(const optimized::KernelSet& set, const PlanOptions& o) {
  return o.profile ? *o.profile : find_profile(set.profile);
}

// The truth each set is judged against, as a number: 0 the given weights'
// f32 truth; sets judged under the same other profile share one; each set
// that rounds the weights itself (KernelSet::effective_weights) has its own.
std::vector<int> weight_variants(const PlanOptions& o) {
  std::vector<int> out;
  out.reserve(o.sets.size());
  std::map<std::string, int> by_profile = {{"f32", 0}};
  int next = 1;
  for (const auto* set : o.sets) {
    if (set->effective_weights) {
      out.push_back(next++);
      continue;
    }
    const auto [it, added] = by_profile.insert({judged_profile(*set, o).name, next});
    if (added) ++next;
    out.push_back(it->second);
  }
  return out;
}

struct GroupCost {
  double seconds = 0;
  std::vector<PlannedScenario> scenarios;
  int truths = 0;
};

GroupCost cost_of(const Config& config, const Group& g, const PlanOptions& o,
                  const PlanSpeeds& speeds) {
  const std::vector<int> variant = weight_variants(o);
  GroupCost out;
  if (g.batch) {
    // Each row is judged against its own causal truth (no replay): one
    // truth per distinct row and weights.
    std::set<std::pair<int, std::vector<int>>> truths;
    for (const Scenario& s : batch_scenarios(config, o.seed)) {
      PlannedScenario p;
      p.scenario = s;
      for (size_t k = 0; k < o.sets.size(); ++k) {
        const std::string name = s.name + " [" + o.sets[k]->name + "]";
        if (!o.filter.empty() && name.find(o.filter) == std::string::npos) continue;
        if (!o.sets[k]->runs_batches) continue;  // a plugin set: single sequences only
        ++p.results;
        for (const auto& row : s.batch)
          if (truths.insert({variant[k], row}).second) {
            p.truth_seconds += truth_seconds(config, static_cast<int>(row.size()), Mask::causal,
                                             speeds, false, o.dd_truth);
            ++out.truths;
          }
      }
      if (p.results == 0) continue;
      out.seconds += p.truth_seconds;
      out.scenarios.push_back(std::move(p));
    }
    return out;
  }
  std::set<std::tuple<int, Mask>> truths, replays;
  for (const Scenario& s : scenarios_of_length(config, o.seed, g.T, g.act)) {
    PlannedScenario p;
    p.scenario = s;
    std::set<std::tuple<int, Mask>> needs, replay_needs;
    for (size_t k = 0; k < o.sets.size(); ++k) {
      const std::string name = s.name + " [" + o.sets[k]->name + "]";
      if (!o.filter.empty() && name.find(o.filter) == std::string::npos) continue;
      ++p.results;
      needs.insert({0, s.mask});  // the given weights' truth (the quantization effect too)
      needs.insert({variant[k], s.mask});
      // Replay is float32's: not where the profile rounds activations.
      if (o.replay && !judged_profile(*o.sets[k], o).rounds_arithmetic())
        replay_needs.insert({variant[k], s.mask});
    }
    if (p.results == 0) continue;
    for (const auto& n : needs)
      if (truths.insert(n).second) {
        p.truth_seconds += truth_seconds(config, g.T, s.mask, speeds, false, o.dd_truth);
        ++out.truths;
      }
    for (const auto& n : replay_needs)
      if (replays.insert(n).second)
        p.truth_seconds += truth_seconds(config, g.T, s.mask, speeds, true, o.dd_truth) -
                           truth_seconds(config, g.T, s.mask, speeds, false, o.dd_truth);
    out.seconds += p.truth_seconds;
    out.scenarios.push_back(std::move(p));
  }
  return out;
}

// Shorter lengths to try for a group of length T, longest first: powers of
// two from n_ctx down to 8 for the long group (longer than the short one's
// 7), every length below T for the short groups.
std::vector<int> shorter_lengths(int T, bool long_group) {
  std::vector<int> out;
  if (long_group) {
    for (int t = 1 << 30; t >= 8; t /= 2)
      if (t < T) out.push_back(t);
  } else {
    for (int t = T - 1; t >= 2; --t) out.push_back(t);
  }
  return out;
}

}  // namespace

std::vector<Scenario> ConformancePlan::scenario_list() const {
  std::vector<Scenario> out;
  for (const auto& p : scenarios) out.push_back(p.scenario);
  return out;
}

ConformancePlan plan_conformance(const Config& config, const PlanOptions& o,
                                 const PlanSpeeds& speeds) {
  const std::vector<int> lengths = default_lengths(config);
  std::vector<Group> groups;
  for (size_t i = 0; i < lengths.size(); ++i)
    groups.push_back({lengths[i], false, i == 2 ? 3 : static_cast<int>(i), static_cast<int>(i)});
  if (o.preset)
    groups.push_back(
        {lengths.size() > 1 ? lengths[1] : 1, true, 2, static_cast<int>(lengths.size())});
  // The batch scenarios run last but are kept with the short groups, before
  // the full context (their rows are at most 11 tokens); never shortened.
  groups.push_back({1, false, 2, static_cast<int>(groups.size()), true});

  ConformancePlan plan;
  std::vector<std::pair<int, GroupCost>> kept;  // (order, cost)
  std::vector<Group> by_priority = groups;
  std::stable_sort(by_priority.begin(), by_priority.end(),
                   [](const Group& a, const Group& b) { return a.priority < b.priority; });
  double left = o.budget_seconds;
  const bool unlimited = o.full_context;
  for (const Group& g : by_priority) {
    GroupCost cost = cost_of(config, g, o, speeds);
    plan.full_seconds += cost.seconds;
    if (cost.scenarios.empty()) continue;
    if (unlimited || cost.seconds <= left || g.priority == 0) {
      left -= cost.seconds;
      kept.emplace_back(g.order, std::move(cost));
      continue;
    }
    if (g.batch) {
      plan.changes.push_back("the batch scenarios dropped: their truths would take " +
                             reference::duration_text(cost.seconds));
      continue;
    }
    const bool long_group = !g.act && g.T == config.n_ctx && g.T > 7;
    bool shortened = false;
    for (int t : shorter_lengths(g.T, long_group)) {
      Group shorter = g;
      shorter.T = t;
      GroupCost c = cost_of(config, shorter, o, speeds);
      if (c.scenarios.empty() || c.seconds > left) continue;
      plan.changes.push_back("the " + group_name(g) +
                             " scenarios shortened to T=" + std::to_string(t) +
                             ": their truths would take " + reference::duration_text(cost.seconds) +
                             " at T=" + std::to_string(g.T) + ", " +
                             reference::duration_text(c.seconds) + " at T=" + std::to_string(t));
      left -= c.seconds;
      kept.emplace_back(g.order, std::move(c));
      shortened = true;
      break;
    }
    if (!shortened)
      plan.changes.push_back("the " + group_name(g) +
                             " scenarios dropped: their truths would take " +
                             reference::duration_text(cost.seconds));
  }
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  int longest = 1;
  int truths_at_longest = 0;
  for (auto& [order, cost] : kept) {
    plan.seconds += cost.seconds;
    for (auto& p : cost.scenarios) {
      longest = std::max(longest, static_cast<int>(p.scenario.tokens.size()));
      for (const auto& row : p.scenario.batch)
        longest = std::max(longest, static_cast<int>(row.size()));
      plan.scenarios.push_back(std::move(p));
    }
    truths_at_longest = std::max(truths_at_longest, cost.truths);
  }
  // Memory at the peak: the weights as given, each rounded copy, a kernel
  // set's own copy while it runs (4 bytes per parameter each), the truths
  // of one sequence kept while its scenarios run (op level, in double, with
  // the replay's float32 inputs), and the reference computing one (at 50
  // digits, or double-double with --precision dd).
  const uint64_t weights = reference::weight_bytes(config);
  const std::vector<int> variant = weight_variants(o);
  const int variants =
      1 + (variant.empty() ? 0 : *std::max_element(variant.begin(), variant.end()));
  const uint64_t trace = reference::trace_elements(config, longest, TraceLevel::ops);
  plan.bytes =
      weights * (1 + variants + 1) +
      uint64_t(std::max(truths_at_longest, 1)) * trace * (8 + (o.replay ? 8 + 4 : 0)) +
      reference::run_bytes(config, longest,
                           o.dd_truth ? reference::Precision::dd : reference::Precision::digits50,
                           TraceLevel::ops, Mode::full);
  return plan;
}

std::vector<std::string> ConformancePlan::lines(const PlanOptions& o,
                                                const PlanSpeeds& speeds) const {
  int results = 0;
  for (const auto& p : scenarios) results += p.results;
  std::vector<std::string> out;
  const std::string what = "plan: " + std::to_string(scenarios.size()) + " scenarios, " +
                           std::to_string(results) + " results";
  if (speeds.measured.rfind("not measured", 0) == 0)
    out.push_back(what + " (a small plan: its truths take seconds at most)");
  else
    out.push_back(what + "; truths estimated at " + reference::duration_text(seconds) + " on " +
                  std::to_string(speeds.threads) + " thread" + (speeds.threads == 1 ? "" : "s") +
                  " (speed " + speeds.measured + "), about " + bytes_text(bytes) + " of memory");
  for (const auto& p : scenarios)
    if (p.truth_seconds >= reference::kLongRunSeconds)
      out.push_back("  " + p.scenario.name + ": truths " +
                    reference::duration_text(p.truth_seconds));
  for (const auto& c : changes) out.push_back("plan: " + c);
  if (!changes.empty()) {
    char budget[64];
    std::snprintf(budget, sizeof budget, "%g", o.budget_seconds / 60);
    out.push_back("plan: within --budget-minutes " + std::string(budget) +
                  "; the full plan's truths would take " + reference::duration_text(full_seconds) +
                  " (--full-context runs it)");
  }
  return out;
}

}  // namespace gpt2::oracle
