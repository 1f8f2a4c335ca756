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
#include "oracle/budget.h"
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

std::vector<Scenario> default_scenarios(const Config& config, uint64_t seed) {
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
  return out;
}

bool ConformanceReport::passed() const {
  return std::all_of(results.begin(), results.end(),
                     [](const ScenarioResult& r) { return r.comparison.passed(); });
}

ConformanceReport run_conformance(const Weights<float>& weights,
                                  const std::vector<Scenario>& scenarios,
                                  const ConformanceOptions& options) {
  ConformanceReport report;
  report.model = options.model;
  report.seed = options.seed;
  report.config = weights.config;
  report.budget_rule = describe_budget_rule();

  std::vector<const optimized::KernelSet*> sets;
  if (options.kernels.empty()) {
    for (const auto& k : optimized::kernels()) sets.push_back(&k);
  } else {
    for (const auto& name : options.kernels) sets.push_back(&optimized::find_kernel(name));
  }

  // The weights each kernel set computes with (bf16 rounds them), and the
  // reference runs on each distinct weights × tokens × mask, computed once.
  std::vector<Weights<float>> distinct_weights = {weights};
  std::vector<size_t> weights_of_set;
  for (const auto* set : sets) {
    Weights<float> used = set->weights_used(weights);
    size_t index = 0;
    while (index < distinct_weights.size() && !same_weights(distinct_weights[index], used))
      ++index;
    if (index == distinct_weights.size()) distinct_weights.push_back(std::move(used));
    weights_of_set.push_back(index);
  }
  std::map<std::tuple<size_t, std::vector<int>, Mask>, std::shared_ptr<Reference>> references;
  auto reference_for = [&](size_t w, const Scenario& s) {
    auto& slot = references[{w, s.tokens, s.mask}];
    if (!slot)
      slot = std::make_shared<Reference>(compute_reference(distinct_weights[w], s.tokens, s.mask,
                                                           options.seed, options.threads));
    return slot;
  };

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
      const size_t w = weights_of_set[k];
      const auto ref = reference_for(w, s);
      // The engine gets the original weights; the set rounds them itself.
      const Trace<double> value =
          run_engine(weights, *sets[k], s, options.threads, options.trace_level);
      r.comparison = compare_traces(value, ref->truth, ref->budgets, s.mask);
      if (w != 0) {
        r.weights_changed = true;
        const auto original = reference_for(0, s);
        r.quantization_effect = max_errors(ref->truth, original->truth);
        const auto logit_metrics = compare_logits(ref->truth.logits, original->truth.logits,
                                                  weights.config.vocab_size);
        for (const auto& m : logit_metrics) {
          r.quantization_logits_kl = std::max(r.quantization_logits_kl, m.kl_divergence);
          r.quantization_argmax_changes += m.truth_argmax != m.value_argmax;
        }
      }
      if (options.progress) {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        std::fprintf(stderr, "[%6.1f s] %s: %s\n", seconds, r.name().c_str(),
                     r.comparison.summary().c_str());
      }
      report.results.push_back(std::move(r));
    }
  }
  return report;
}

}  // namespace gpt2::oracle
