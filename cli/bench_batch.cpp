// gpt2-oracle bench --batch B,...: batched decode throughput (cli/bench_batch.h).
#include "cli/bench_batch.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "model/error.h"
#include "model/files.h"
#include "optimized/cpu_features.h"
#include "optimized/engine.h"

namespace gpt2::cli {

namespace {

using Clock = std::chrono::steady_clock;

// Greedy: the highest logit of each row.
void argmax_rows(std::span<const float> logits, int V, std::vector<int>& next) {
  for (size_t r = 0; r < next.size(); ++r) {
    const auto row = logits.subspan(r * V, V);
    next[r] = static_cast<int>(std::max_element(row.begin(), row.end()) - row.begin());
  }
}

}  // namespace

std::vector<int> parse_batch_sizes(const std::string& text) {
  std::vector<int> sizes;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty() || item.find_first_not_of("0123456789") != std::string::npos ||
        item.size() > 5)
      throw InputError("--batch: expected batch sizes such as 1,4,16, found '" + text + "'");
    const int b = std::stoi(item);
    if (b < 1 || b > kMaxBatchRows)
      throw InputError("--batch: a batch size is 1 to " + std::to_string(kMaxBatchRows) +
                       " rows (found " + item + ")");
    if (std::find(sizes.begin(), sizes.end(), b) == sizes.end()) sizes.push_back(b);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return sizes;
}

int run_batch_bench(const BatchBenchOptions& o) {
  const optimized::KernelSet& set = optimized::find_kernel(o.kernel);
  const std::vector<int> sizes = parse_batch_sizes(o.batch_sizes);
  if (!o.json.empty()) check_output_file("--json", o.json);  // before any work
  Weights<float> weights = o.source.load();
  const Config config = weights.config;
  int prompt_len = o.prompt;
  if (prompt_len + o.steps > config.n_ctx)
    prompt_len = std::min(o.prompt, std::max(1, config.n_ctx / 2));
  const int steps = std::max(1, std::min(o.steps, config.n_ctx - prompt_len));
  if (prompt_len != o.prompt || steps != o.steps)
    std::fprintf(stderr,
                 "gpt2-oracle: bench: --prompt %d and --steps %d do not fit the context of %d "
                 "positions; measuring a %d-token prompt and %d decode steps\n",
                 o.prompt, o.steps, config.n_ctx, prompt_len, steps);
  optimized::Engine engine(weights, set, o.threads);
  weights = Weights<float>{};
  const int V = config.vocab_size;

  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<int> token(0, V - 1);
  const int largest = *std::max_element(sizes.begin(), sizes.end());
  std::vector<std::vector<int>> all_prompts(largest, std::vector<int>(prompt_len));
  for (auto& p : all_prompts)
    for (int& t : p) t = token(rng);

  // Rounds interleave the batch sizes, each keeping its best: on a shared
  // machine the ratios then compare measurements of the same stretch of time.
  constexpr int kRounds = 3;
  std::map<int, double> best;  // batch size -> seconds for `steps` steps
  optimized::BatchOptions options;
  options.max_new = steps;
  for (int round = 0; round < kRounds; ++round)
    for (int b : sizes) {
      const std::vector<std::vector<int>> prompts(all_prompts.begin(), all_prompts.begin() + b);
      std::vector<int> next(b);
      argmax_rows(engine.prefill_batch(prompts, options), V, next);
      const auto start = Clock::now();
      for (int s = 0; s < steps; ++s) argmax_rows(engine.decode_batch(next), V, next);
      const double t = seconds_since(start);
      best[b] = best.count(b) ? std::min(best[b], t) : t;
    }

  nlohmann::json out;
  out["model"] = o.source.describe();
  out["kernel"] = set.name;
  out["threads"] = o.threads;
  out["simd"] = optimized::simd_name(optimized::simd_in_use());
  out["prompt_tokens"] = prompt_len;
  out["decode_steps"] = steps;
  out["rounds"] = kRounds;
  std::printf(
      "model %s, kernel %s, %d thread(s), %s; batched decode: %d steps per row after a "
      "%d-token prompt in every row, best of %d interleaved rounds\n",
      o.source.describe().c_str(), set.name.c_str(), o.threads,
      optimized::simd_name(optimized::simd_in_use()), steps, prompt_len, kRounds);
  const double one = best.count(1) ? double(steps) / best[1] : 0;
  nlohmann::json rows = nlohmann::json::array();
  for (int b : sizes) {
    const double tok_s = double(b) * steps / best[b];
    nlohmann::json row = {{"batch", b}, {"tok_s", tok_s}, {"step_ms", best[b] / steps * 1e3}};
    std::string versus;
    if (one > 0) {
      row["speedup_over_batch_1"] = tok_s / one;
      char buf[64];
      std::snprintf(buf, sizeof buf, "  (%.2fx batch 1)", tok_s / one);
      versus = buf;
    }
    rows.push_back(row);
    std::printf("batch %3d: %9.1f tok/s over all rows, %8.2f ms per step%s\n", b, tok_s,
                best[b] / steps * 1e3, versus.c_str());
  }
  out["batch_decode"] = rows;
  if (!o.json.empty()) write_file_atomic(o.json, out.dump(2) + "\n");
  return 0;
}

}  // namespace gpt2::cli
