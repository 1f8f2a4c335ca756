#include "oracle/conformance.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <memory>
#include <span>

#include "model/error.h"
#include "model/tokens.h"
#include "model/init.h"
#include "optimized/engine.h"
#include "optimized/kernels.h"
#include "model/checkpoint.h"
#include "oracle/budget.h"
#include "oracle/truth_cache.h"
#include "reference/reference.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

namespace {

// Chunk sizes with runs compressed: [2,2,2,1] -> "[2x3,1]".
std::string chunks_text(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size();) {
    size_t j = i;
    while (j < v.size() && v[j] == v[i]) ++j;
    s += (i ? "," : "") + std::to_string(v[i]) + (j - i > 1 ? "x" + std::to_string(j - i) : "");
    i = j;
  }
  return s + "]";
}

// T token ids drawn from `seed`; ids 0 and V-1 placed at positions 1 and
// T-2 when there is room (at position 0 for T = 1: the last id).
std::vector<int> seeded_tokens(int T, int V, uint64_t seed) {
  std::vector<int> tokens(T);
  for (int i = 0; i < T; ++i)
    tokens[i] = static_cast<int>(mix64(seed * 0x9e3779b97f4a7c15ull + i) % uint64_t(V));
  if (T == 1) tokens[0] = V - 1;
  if (T >= 2) tokens[1] = 0;
  if (T >= 3) tokens[T - 2] = V - 1;
  return tokens;
}

// Chunk sizes in [1, 4] drawn from `seed`, summing to `prompt`.
std::vector<int> seeded_split(int prompt, uint64_t seed) {
  std::vector<int> chunks;
  for (int done = 0, i = 0; done < prompt; ++i) {
    const int size = std::min(prompt - done, 1 + static_cast<int>(mix64(seed + i) % 4));
    chunks.push_back(size);
    done += size;
  }
  return chunks;
}

bool same_weights(const Weights<float>& a, const Weights<float>& b) {
  if (!(a.config == b.config)) return false;
  std::vector<const std::vector<float>*> ta, tb;
  for_each_tensor(
      a, [&](const std::string&, const std::vector<float>& t, const Shape&) { ta.push_back(&t); });
  for_each_tensor(
      b, [&](const std::string&, const std::vector<float>& t, const Shape&) { tb.push_back(&t); });
  for (size_t i = 0; i < ta.size(); ++i)
    if (*ta[i] != *tb[i]) return false;
  return true;
}

}  // namespace

std::vector<Scenario> batch_scenarios(const Config& config, uint64_t seed) {
  const int P = config.n_ctx, V = config.vocab_size;
  if (P < 2) return {};
  // Two decode steps after the prompts (one where the context is 2), and
  // prompts of at most 9 tokens: ragged, short rows keep the 50-digit truth
  // of every row cheap.
  const int steps = P >= 4 ? 2 : 1;
  const int longest = std::min(P - steps, 9);
  auto rows_of = [&](const std::vector<int>& lengths, uint64_t salt) {
    std::vector<std::vector<int>> rows;
    for (size_t r = 0; r < lengths.size(); ++r)
      rows.push_back(seeded_tokens(lengths[r] + steps, V, mix64(seed ^ salt ^ (r << 8))));
    return rows;
  };
  auto name_of = [&](const std::vector<int>& lengths, Padding padding) {
    std::string list;
    for (int n : lengths) list += (list.empty() ? "" : ",") + std::to_string(n);
    return "batch[" + list + "]+" + std::to_string(steps) + " " + padding_name(padding);
  };
  auto scenario = [&](const std::vector<int>& lengths, Padding padding, uint64_t salt) {
    Scenario s;
    s.name = name_of(lengths, padding);
    s.batch = rows_of(lengths, salt);
    s.prompt_lengths = lengths;
    s.padding = padding;
    return s;
  };
  std::vector<Scenario> out;
  // B = 3, the longest row first (unpadded), then one token, then between.
  const std::vector<int> three = {longest, 1, std::max(1, (longest + 1) / 2)};
  for (Padding padding : {Padding::left, Padding::right})
    out.push_back(scenario(three, padding, 0xba7c3));
  // B = 8 of lengths drawn from the seed in 1 .. longest, left padded.
  std::vector<int> eight(8);
  for (int r = 0; r < 8; ++r)
    eight[r] = 1 + static_cast<int>(mix64(seed + 0xba7c8 + r) % uint64_t(longest));
  out.push_back(scenario(eight, Padding::left, 0xba7c8));
  return out;
}

std::vector<Scenario> scenarios_of_length(const Config& config, uint64_t seed, int T,
                                          bool gpt2_activations) {
  const std::vector<int> tokens = seeded_tokens(T, config.vocab_size, mix64(seed ^ uint64_t(T)));
  const std::string t = " T=" + std::to_string(T);
  std::vector<Scenario> out;
  out.push_back({"prefill" + t, tokens, {T}, Mask::causal});
  if (T > 1) {
    out.push_back({"incremental" + t, tokens, {1}, Mask::causal});
    if (T >= 3) {
      // Chunks of 2 over all but the last token, then one decode step.
      std::vector<int> pairs;
      for (int done = 0; done < T - 1; done += 2) pairs.push_back(std::min(2, T - 1 - done));
      out.push_back({"chunked" + chunks_text(pairs) + "+decode" + t, tokens, pairs, Mask::causal});
      // An irregular split of two thirds of the sequence, then decode.
      const std::vector<int> split = seeded_split((2 * T + 2) / 3, mix64(seed + T));
      const std::string name = split.size() <= 6
                                   ? chunks_text(split)
                                   : "[" + std::to_string(split.size()) + " chunks of 1-4]";
      out.push_back({"chunked" + name + "+decode" + t, tokens, split, Mask::causal});
    }
    out.push_back({"prefill" + t + " mask=none", tokens, {T}, Mask::none});
  }
  if (gpt2_activations)
    for (Scenario& s : out) {
      s.name += " act=gpt2";
      s.gpt2_activations = true;
    }
  return out;
}

std::vector<int> default_lengths(const Config& config) {
  const int P = config.n_ctx;
  std::vector<int> lengths = {1};
  if (P > 1) lengths.push_back(std::min(P, 7));
  if (P > 7) lengths.push_back(P);
  return lengths;
}

std::vector<Scenario> default_scenarios(const Config& config, uint64_t seed, bool preset) {
  std::vector<Scenario> out;
  const std::vector<int> lengths = default_lengths(config);
  for (int T : lengths) {
    const std::vector<Scenario> group = scenarios_of_length(config, seed, T);
    out.insert(out.end(), group.begin(), group.end());
  }
  if (preset) {  // the T = 7 scenarios (or the longest below) at GPT-2's activation scale
    const std::vector<Scenario> group =
        scenarios_of_length(config, seed, lengths.size() > 1 ? lengths[1] : 1, true);
    out.insert(out.end(), group.begin(), group.end());
  }
  for (Scenario& s : batch_scenarios(config, seed)) out.push_back(std::move(s));
  return out;
}

std::string BatchResult::invariance_summary() const {
  if (!invariance_checked) return "batch invariance not declared: judged by the budget only";
  if (invariant) return "batch-invariant: every row bit-identical to its single run";
  char text[256];
  std::snprintf(text, sizeof text, "at %s, position %d, column %d (%.9g vs %.9g alone)",
                display_name(difference->id).c_str(), difference->position, difference->column,
                difference->a, difference->b);
  return "not batch-invariant: row " + std::to_string(difference_row) +
         " differs from its single run " + text;
}

bool ConformanceReport::passed() const {
  return std::all_of(results.begin(), results.end(),
                     [](const ScenarioResult& r) { return r.passed(); });
}

namespace {

// The weights a scenario runs on (as given, or scaled to GPT-2's
// activations) and, for each kernel set, the weights it computes with (bf16
// rounds them): each distinct set of weights once (the given weights are not
// copied), with the truths of the scenarios that use them, read from the
// truth cache or computed once and kept while a scenario still needs them.
class WeightsInUse {
 public:
  // Each set is judged under options.profile when given, else under its own
  // (KernelSet::profile): on the weights it computes with, rounded by that
  // profile (round_weights), with the truth of that profile.
  WeightsInUse(const Weights<float>& weights, const std::vector<const optimized::KernelSet*>& sets,
               bool gpt2_activations, const std::optional<Profile>& profile)
      : gpt2_activations_(gpt2_activations) {
    if (gpt2_activations) {
      owned_.push_back(std::make_unique<Weights<float>>(with_gpt2_activations(weights)));
      given_ = owned_.back().get();
    } else {
      given_ = &weights;
    }
    distinct_.push_back(given_);
    profiles_.push_back(find_profile("f32"));
    for (const auto* set : sets) {
      const Profile& judged = profile ? *profile : find_profile(set->profile);
      if (!set->effective_weights && judged.is_f32()) {
        of_set_.push_back(0);
        continue;
      }
      auto used =
          std::make_unique<Weights<float>>(round_weights(set->weights_used(*given_), judged));
      size_t index = 0;
      while (index < distinct_.size() &&
             !(profiles_[index] == judged && same_weights(*distinct_[index], *used)))
        ++index;
      if (index == distinct_.size()) {
        distinct_.push_back(used.get());
        profiles_.push_back(judged);
        owned_.push_back(std::move(used));
      }
      of_set_.push_back(index);
    }
    digests_.resize(distinct_.size());
  }
  const Weights<float>& given() const { return *given_; }
  // Where the truths' certificates are tallied (ConformanceReport::dd_*).
  void tally_truths_in(ConformanceReport* report) { report_ = report; }
  size_t index_of_set(size_t k) const { return of_set_[k]; }  // 0: the given weights
  const Weights<float>& distinct(size_t w) const { return *distinct_[w]; }
  const Profile& profile(size_t w) const { return profiles_[w]; }  // f32 for w = 0

  // The 50-digit truth and budgets of distinct weights w on a scenario's
  // tokens and mask, and its replay reference, each computed once (or read
  // from the truth cache).
  const Reference& reference(size_t w, const Scenario& s, const ConformanceOptions& o) {
    return reference(w, s.tokens, s.mask, o);
  }
  const Reference& reference(size_t w, const std::vector<int>& tokens, Mask mask,
                             const ConformanceOptions& o) {
    auto& slot = references_[{w, tokens, mask}];
    if (!slot) {
      slot = std::make_unique<Reference>(cached_reference(
          cache(o), *distinct_[w], digest(w, o), tokens, mask, o.seed, o.threads, o.progress,
          description(w, tokens, mask, o, "the truth"), o.truth_precision, profiles_[w]));
      note_truth(*slot, o);
    }
    return *slot;
  }
  const ReplayReference& replay_reference(size_t w, const Scenario& s,
                                          const ConformanceOptions& o) {
    auto& slot = replays_[{w, s.tokens, s.mask}];
    if (!slot) {
      const Trace<double>& truth = reference(w, s, o).truth;
      slot = std::make_unique<ReplayReference>(cached_replay_reference(
          cache(o), *distinct_[w], digest(w, o), s.tokens, s.mask, truth, o.seed, o.threads,
          description(w, s.tokens, s.mask, o, "the replay truths")));
    }
    return *slot;
  }
  // Forgets the truths of every (tokens, mask) that `keep` does not name.
  void keep_only(const std::set<std::pair<std::vector<int>, Mask>>& keep) {
    auto prune = [&](auto& map) {
      for (auto it = map.begin(); it != map.end();)
        it = keep.count({std::get<1>(it->first), std::get<2>(it->first)}) ? std::next(it)
                                                                          : map.erase(it);
    };
    prune(replays_);
    prune(references_);
  }

 private:
  static const TruthCache& cache(const ConformanceOptions& o) {
    static const TruthCache disabled;
    return o.truth_cache ? *o.truth_cache : disabled;
  }
  // weights_sha256, once per distinct weights, and only for the cache.
  const std::string& digest(size_t w, const ConformanceOptions& o) {
    if (digests_[w].empty() && cache(o).enabled()) digests_[w] = weights_sha256(*distinct_[w]);
    return digests_[w];
  }
  std::string description(size_t w, const std::vector<int>& tokens, Mask mask,
                          const ConformanceOptions& o, const char* what) const {
    std::string shown = format_tokens(
        std::vector<int>(tokens.begin(), tokens.begin() + std::min<size_t>(tokens.size(), 8)));
    if (tokens.size() > 8) shown += ",...";
    return std::string(what) + " of " + o.model +
           (gpt2_activations_ ? " at GPT-2's activations" : "") +
           (w == 0                  ? ""
            : profiles_[w].is_f32() ? " (weights rounded by a kernel set)"
                                    : " under profile " + profiles_[w].name) +
           ", T=" + std::to_string(tokens.size()) + " (" + shown + "), mask " + mask_name(mask) +
           ", seed " + std::to_string(o.seed);
  }

  void note_truth(const Reference& r, const ConformanceOptions& o) {
    if (!report_ || o.truth_precision.precision != reference::Precision::dd) return;
    if (r.truth_precision != "dd") {
      ++report_->dd_fallbacks;
      return;
    }
    ++report_->dd_truths;
    for (int d : r.certified_digits)
      report_->dd_min_certified_digits = std::min(report_->dd_min_certified_digits, d);
  }

  using Key = std::tuple<size_t, std::vector<int>, Mask>;
  ConformanceReport* report_ = nullptr;
  bool gpt2_activations_ = false;
  const Weights<float>* given_ = nullptr;
  std::vector<std::unique_ptr<Weights<float>>> owned_;
  std::vector<const Weights<float>*> distinct_;
  std::vector<Profile> profiles_;  // of each distinct_ entry
  std::vector<size_t> of_set_;
  std::vector<std::string> digests_;
  std::map<Key, std::unique_ptr<Reference>> references_;
  std::map<Key, std::unique_ptr<ReplayReference>> replays_;
};

// A batch scenario on one kernel set: every row against its own truth, and
// against the row run alone (bit for bit) when the set declares batch
// invariance.
BatchResult run_batch_scenario(WeightsInUse& model, size_t w, const optimized::KernelSet& set,
                               const Scenario& s, const ConformanceOptions& o) {
  BatchResult out;
  out.padding = s.padding;
  out.rows = s.batch;
  out.prompt_lengths = s.prompt_lengths;
  optimized::BatchOptions batch_options;
  batch_options.padding = s.padding;
  const std::vector<Trace<double>> traces = optimized::run_batch_trace(
      model.given(), s.batch, s.prompt_lengths, set, batch_options, o.threads, o.trace_level);
  int first_failing = -1, worst = 0;
  for (size_t r = 0; r < s.batch.size(); ++r) {
    const Reference& ref = model.reference(w, s.batch[r], Mask::causal, o);
    out.comparisons.push_back(compare_traces(traces[r], ref.truth, ref.budgets, Mask::causal));
    const TraceComparison& c = out.comparisons.back();
    if (!c.passed() && first_failing < 0) first_failing = static_cast<int>(r);
    if (c.worst_ratio() > out.comparisons[worst].worst_ratio()) worst = static_cast<int>(r);
  }
  out.reported_row = first_failing >= 0 ? first_failing : worst;
  out.invariance_checked = set.batch_invariant;
  if (set.batch_invariant) {
    for (size_t r = 0; r < s.batch.size() && out.invariant; ++r) {
      const Trace<double> alone =
          optimized::run_passes_trace(model.given(), s.batch[r], {s.prompt_lengths[r]}, set,
                                      Mask::causal, o.threads, o.trace_level);
      out.difference = first_bit_difference(traces[r], alone);
      if (out.difference) {
        out.invariant = false;
        out.difference_row = static_cast<int>(r);
      }
    }
  }
  return out;
}

}  // namespace

ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options) {
  std::vector<const optimized::KernelSet*> sets;
  if (options.kernels.empty()) {
    // Every registered set, each under its own precision profile.
    for (const auto& k : optimized::kernels()) sets.push_back(&k);
  } else {
    for (const auto& name : options.kernels) sets.push_back(&optimized::find_kernel(name));
  }
  return run_conformance(weights, scenarios, options, sets);
}

ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options,
                                  const std::vector<const optimized::KernelSet*>& sets) {
  ConformanceReport report;
  report.model = options.model;
  report.seed = options.seed;
  report.config = weights.config;
  report.budget_rule = describe_budget_rule();
  report.truth_precision = reference::precision_name(options.truth_precision.precision);
  std::unique_ptr<WeightsInUse> in_use[2];  // as given, scaled to GPT-2's activations
  std::map<std::string, std::string> hung;  // kernel set -> where it hung

  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < scenarios.size(); ++i) {
    const Scenario& s = scenarios[i];
    // What the scenarios from here on still need: the truths of other
    // sequences, and the weights of a kind no later scenario uses, are freed.
    std::set<std::pair<std::vector<int>, Mask>> needed[2];
    for (size_t j = i; j < scenarios.size(); ++j) {
      needed[scenarios[j].gpt2_activations].insert({scenarios[j].tokens, scenarios[j].mask});
      for (const auto& row : scenarios[j].batch)  // each row's own truth
        needed[scenarios[j].gpt2_activations].insert({row, Mask::causal});
    }
    for (int a = 0; a < 2; ++a) {
      if (!in_use[a]) continue;
      if (needed[a].empty())
        in_use[a].reset();
      else
        in_use[a]->keep_only(needed[a]);
    }
    for (size_t k = 0; k < sets.size(); ++k) {
      ScenarioResult r;
      r.scenario = s.name;
      r.kernel = sets[k]->name;
      if (!options.filter.empty() && r.name().find(options.filter) == std::string::npos) continue;
      if (s.is_batch() && !sets[k]->runs_batches) continue;  // see KernelSet::runs_batches
      r.mask = s.mask;
      r.tokens = s.tokens;
      r.chunks = s.chunks;
      auto& model = in_use[s.gpt2_activations];
      if (!model) {
        model = std::make_unique<WeightsInUse>(weights, sets, s.gpt2_activations, options.profile);
        model->tally_truths_in(&report);
      }
      const size_t w = model->index_of_set(k);
      r.profile = model->profile(w).name;
      // A set that fails to run (a plugin's process crashed or hung) fails
      // the scenario with what happened, and the suite goes on; after a
      // hang, its remaining scenarios are not run (each would wait out the
      // time limit again).
      if (const auto it = hung.find(sets[k]->name); it != hung.end()) {
        r.comparison.failure = "not run: " + it->second;
        report.results.push_back(std::move(r));
        if (options.on_result) options.on_result(report);
        continue;
      }
      auto record = [&](const optimized::KernelSetFailure& e) {
        if (e.hung()) hung[sets[k]->name] = "the set hung in '" + s.name + "'";
      };
      if (s.is_batch()) {
        try {
          r.batch = run_batch_scenario(*model, w, *sets[k], s, options);
          const BatchResult& b = *r.batch;
          r.comparison = b.comparisons[b.reported_row];
          r.tokens = b.rows[b.reported_row];
          r.chunks = {b.prompt_lengths[b.reported_row]};
        } catch (const optimized::KernelSetFailure& e) {
          r.batch.reset();
          r.comparison.failure = e.what();
          record(e);
        }
        r.weights_changed = w != 0;
        if (options.progress) {
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::fprintf(
              stderr, "[%6.1f s] %s: %s%s\n", seconds, r.name().c_str(),
              r.batch ? ("row " + std::to_string(r.batch->reported_row) + ": ").c_str() : "",
              (r.comparison.summary() +
               (r.batch ? "; " + r.batch->invariance_summary() : std::string()))
                  .c_str());
        }
        report.results.push_back(std::move(r));
        if (options.on_result) options.on_result(report);
        continue;
      }
      const Reference& ref = model->reference(w, s, options);
      try {
        // The engine gets the given weights; the set rounds them itself.
        const Trace<double> value =
            optimized::run_passes_trace(model->given(), s.tokens, s.chunks, *sets[k], s.mask,
                                        options.threads, options.trace_level);
        r.comparison = compare_traces(value, ref.truth, ref.budgets, s.mask);
      } catch (const optimized::KernelSetFailure& e) {
        r.comparison.failure = e.what();
        record(e);
      }
      if (w != 0) {
        r.weights_changed = true;
        const Reference& original = model->reference(0, s, options);
        r.quantization_effect = max_errors(ref.truth, original.truth);
        for (const double scale : max_abs_per_tensor(original.truth))
          r.quantization_relative_effect.push_back(
              scale > 0 ? r.quantization_effect[r.quantization_relative_effect.size()] / scale
                        : 0.0);
        const auto logit_metrics =
            compare_logits(ref.truth.logits, original.truth.logits, weights.config.vocab_size);
        for (size_t t = 0; t < logit_metrics.size(); ++t) {
          const auto& m = logit_metrics[t];
          r.quantization_logits_kl = std::max(r.quantization_logits_kl, m.kl_divergence);
          if (m.truth_argmax != m.value_argmax) {
            ++r.quantization_argmax_changes;
            r.quantization_argmax_positions.push_back(static_cast<int>(t));
          }
        }
      }
      // Replay, unless the set already failed to run (it would again). Not
      // under a precision profile that rounds activations: the replayed ops'
      // own truths do not round at its points yet; the trace comparison
      // judges such a set. (A profile that rounds only the weights, such as
      // bf16-weights, is float32 arithmetic on them: replayed.)
      if (options.replay && r.comparison.failure.empty() &&
          !model->profile(w).rounds_arithmetic()) {
        const ReplayReference& rr = model->replay_reference(w, s, options);
        const int T = static_cast<int>(s.tokens.size());
        r.replay = replay(model->given(), *sets[k], rr, scenario_passes(T, s.chunks, s.mask));
        if (r.replay->hung) hung[sets[k]->name] = "the set hung in '" + s.name + "' (replay)";
        if (!r.replay->passed()) {
          ReplaySource source;
          source.model_flags =
              options.model_flags + (s.gpt2_activations ? " --activations gpt2" : "");
          source.kernel = sets[k]->name;
          source.chunks = s.chunks;
          source.seed = options.seed;
          const Weights<float>& truth_weights = model->distinct(w);
          source.truth_weights = &truth_weights;
          source.truth_of = [&](const std::vector<int>& prefix) {
            // Under a causal mask a prefix's truth is the first rows of the
            // whole truth; without the mask it is computed anew.
            if (s.mask == Mask::causal)
              return trace_rows(ref.truth, 0, static_cast<int>(prefix.size()));
            reference::Options ro;
            ro.mask = s.mask;
            ro.threads = options.threads;
            ro.trace_level = TraceLevel::ops;
            return reference::run(truth_weights, prefix, reference::Precision::digits50, ro);
          };
          shrink_replay(*r.replay, model->given(), *sets[k], rr, source);
        }
      }
      if (options.progress) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "[%6.1f s] %s: %s%s\n", seconds, r.name().c_str(),
                     r.comparison.summary().c_str(),
                     r.replay ? ("; replay: " + r.replay->summary()).c_str() : "");
      }
      report.results.push_back(std::move(r));
      if (options.on_result) options.on_result(report);
    }
  }
  return report;
}

}  // namespace gpt2::oracle
