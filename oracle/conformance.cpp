#include "oracle/conformance.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <span>

#include "model/error.h"
#include "model/init.h"
#include "optimized/engine.h"
#include "optimized/kernels.h"
#include "model/checkpoint.h"
#include "oracle/budget.h"
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

Trace<double> run_engine(const Weights<float>& weights, const optimized::KernelSet& set,
                         const Scenario& s, int threads, TraceLevel level) {
  optimized::Engine engine(weights, set, threads);
  Trace<double> trace =
      make_trace<double>(weights.config, static_cast<int>(s.tokens.size()), level);
  engine.set_capture(&trace);
  const std::span<const int> tokens(s.tokens);
  size_t position = 0;
  for (int chunk : s.chunks) {
    engine.prefill(tokens.subspan(position, chunk), s.mask, optimized::Logits::none);
    position += chunk;
  }
  for (; position < s.tokens.size(); ++position) engine.decode(s.tokens[position]);
  return trace;
}

bool same_weights(const Weights<float>& a, const Weights<float>& b) {
  if (!(a.config == b.config)) return false;
  std::vector<const std::vector<float>*> ta, tb;
  for_each_tensor(a, [&](const std::string&, const std::vector<float>& t, const Shape&) {
    ta.push_back(&t);
  });
  for_each_tensor(b, [&](const std::string&, const std::vector<float>& t, const Shape&) {
    tb.push_back(&t);
  });
  for (size_t i = 0; i < ta.size(); ++i)
    if (*ta[i] != *tb[i]) return false;
  return true;
}

}  // namespace

std::vector<Scenario> default_scenarios(const Config& config, uint64_t seed, bool preset) {
  const int P = config.n_ctx, V = config.vocab_size;
  std::vector<int> lengths = {1};
  if (P > 1) lengths.push_back(std::min(P, 7));
  if (P > 7) lengths.push_back(P);
  std::vector<Scenario> out;
  for (int T : lengths) {
    const std::vector<int> tokens = seeded_tokens(T, V, mix64(seed ^ uint64_t(T)));
    const std::string t = " T=" + std::to_string(T);
    out.push_back({"prefill" + t, tokens, {T}, Mask::causal});
    if (T == 1) continue;
    out.push_back({"incremental" + t, tokens, {1}, Mask::causal});
    if (T >= 3) {
      // Chunks of 2 over all but the last token, then one decode step.
      std::vector<int> pairs;
      for (int done = 0; done < T - 1; done += 2) pairs.push_back(std::min(2, T - 1 - done));
      out.push_back({"chunked" + chunks_text(pairs) + "+decode" + t, tokens, pairs, Mask::causal});
      // An irregular split of two thirds of the sequence, then decode.
      const std::vector<int> split = seeded_split((2 * T + 2) / 3, mix64(seed + T));
      const std::string name = split.size() <= 6 ? chunks_text(split)
                                                 : "[" + std::to_string(split.size()) +
                                                       " chunks of 1-4]";
      out.push_back({"chunked" + name + "+decode" + t, tokens, split, Mask::causal});
    }
    out.push_back({"prefill" + t + " mask=none", tokens, {T}, Mask::none});
  }
  if (preset) {  // the T = 7 scenarios (or the longest below) at GPT-2's activation scale
    const size_t begin = out.size() > 1 ? 1 : 0, end = std::min<size_t>(out.size(), begin + 5);
    for (size_t i = begin; i < end; ++i) {
      Scenario s = out[i];
      s.name += " act=gpt2";
      s.gpt2_activations = true;
      out.push_back(s);
    }
  }
  return out;
}

bool ConformanceReport::passed() const {
  return std::all_of(results.begin(), results.end(),
                     [](const ScenarioResult& r) { return r.passed(); });
}

namespace {

// The weights a scenario runs on (as given, or scaled to GPT-2's
// activations) and, for each kernel set, the weights it computes with (bf16
// rounds them): each distinct set of weights once, with its references.
class WeightsInUse {
 public:
  WeightsInUse(const Weights<float>& weights, const std::vector<const optimized::KernelSet*>& sets,
               bool gpt2_activations)
      : given_(gpt2_activations ? with_gpt2_activations(weights) : weights) {
    distinct_.push_back(given_);
    for (const auto* set : sets) {
      Weights<float> used = set->weights_used(given_);
      size_t index = 0;
      while (index < distinct_.size() && !same_weights(distinct_[index], used)) ++index;
      if (index == distinct_.size()) distinct_.push_back(std::move(used));
      of_set_.push_back(index);
    }
  }
  const Weights<float>& given() const { return given_; }
  size_t index_of_set(size_t k) const { return of_set_[k]; }  // 0: the given weights
  const Weights<float>& distinct(size_t w) const { return distinct_[w]; }

  // The 50-digit truth and budgets of distinct weights w on a scenario's
  // tokens and mask, and its replay reference, each computed once.
  const Reference& reference(size_t w, const Scenario& s, const ConformanceOptions& o) {
    auto& slot = references_[{w, s.tokens, s.mask}];
    if (!slot)
      slot = std::make_unique<Reference>(
          compute_reference(distinct_[w], s.tokens, s.mask, o.seed, o.threads));
    return *slot;
  }
  const ReplayReference& replay_reference(size_t w, const Scenario& s,
                                          const ConformanceOptions& o) {
    auto& slot = replays_[{w, s.tokens, s.mask}];
    if (!slot)
      slot = std::make_unique<ReplayReference>(compute_replay_reference(
          distinct_[w], s.tokens, s.mask, reference(w, s, o).truth, o.seed));
    return *slot;
  }

 private:
  using Key = std::tuple<size_t, std::vector<int>, Mask>;
  Weights<float> given_;
  std::vector<Weights<float>> distinct_;
  std::vector<size_t> of_set_;
  std::map<Key, std::unique_ptr<Reference>> references_;
  std::map<Key, std::unique_ptr<ReplayReference>> replays_;
};

}  // namespace

ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options) {
  std::vector<const optimized::KernelSet*> sets;
  if (options.kernels.empty()) {
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
  std::unique_ptr<WeightsInUse> in_use[2];  // as given, scaled to GPT-2's activations
  std::map<std::string, std::string> hung;    // kernel set -> where it hung

  const auto start = std::chrono::steady_clock::now();
  for (const Scenario& s : scenarios) {
    for (size_t k = 0; k < sets.size(); ++k) {
      ScenarioResult r;
      r.scenario = s.name;
      r.kernel = sets[k]->name;
      if (!options.filter.empty() && r.name().find(options.filter) == std::string::npos) continue;
      r.mask = s.mask;
      r.tokens = s.tokens;
      r.chunks = s.chunks;
      auto& model = in_use[s.gpt2_activations];
      if (!model) model = std::make_unique<WeightsInUse>(weights, sets, s.gpt2_activations);
      const size_t w = model->index_of_set(k);
      const Reference& ref = model->reference(w, s, options);
      // A set that fails to run (a plugin's process crashed or hung) fails
      // the scenario with what happened, and the suite goes on; after a
      // hang, its remaining scenarios are not run (each would wait out the
      // time limit again).
      if (const auto it = hung.find(sets[k]->name); it != hung.end()) {
        r.comparison.failure = "not run: " + it->second;
        report.results.push_back(std::move(r));
        continue;
      }
      auto record = [&](const optimized::KernelSetFailure& e) {
        if (e.hung()) hung[sets[k]->name] = "the set hung in '" + s.name + "'";
      };
      try {
        // The engine gets the given weights; the set rounds them itself.
        const Trace<double> value =
            run_engine(model->given(), *sets[k], s, options.threads, options.trace_level);
        r.comparison = compare_traces(value, ref.truth, ref.budgets, s.mask);
      } catch (const optimized::KernelSetFailure& e) {
        r.comparison.failure = e.what();
        record(e);
      }
      if (w != 0) {
        r.weights_changed = true;
        const Reference& original = model->reference(0, s, options);
        r.quantization_effect = max_errors(ref.truth, original.truth);
        const auto logit_metrics = compare_logits(ref.truth.logits, original.truth.logits,
                                                  weights.config.vocab_size);
        for (const auto& m : logit_metrics) {
          r.quantization_logits_kl = std::max(r.quantization_logits_kl, m.kl_divergence);
          r.quantization_argmax_changes += m.truth_argmax != m.value_argmax;
        }
      }
      // Replay, unless the set already failed to run (it would again).
      if (options.replay && r.comparison.failure.empty()) {
        const ReplayReference& rr = model->replay_reference(w, s, options);
        const int T = static_cast<int>(s.tokens.size());
        r.replay = replay(model->given(), *sets[k], rr, scenario_passes(T, s.chunks, s.mask));
        if (r.replay->hung)
          hung[sets[k]->name] = "the set hung in '" + s.name + "' (replay)";
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
    }
  }
  return report;
}

}  // namespace gpt2::oracle
