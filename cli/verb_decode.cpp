// gpt2-oracle decode: generation on the KV-cached engine, greedy or sampled.
//
//   gpt2-oracle decode --model tiny --tokens 5,17,3 --max-new 8
//   prefill: 3 tokens in 0.412 ms
//   token 1: id 17 at position 3, 0.101 ms
//   ...
//   generated: 17 4 9 ...
//   text: " the world"          (when the checkpoint has a tokenizer)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/batch.h"
#include "model/config.h"
#include "model/error.h"
#include "model/files.h"
#include "optimized/engine.h"

namespace gpt2::cli {

namespace {

struct DecodeOptions {
  ModelSource source;
  TokenInput input;
  int max_new = 0;
  std::string kernel = "fast";
  int threads = 0;
  double temperature = 0;  // 0: greedy
  int top_k = 0;           // 0: the whole vocabulary
  uint64_t seed = 0;
  std::string batch_file;  // one prompt per line, decoded together
  std::string padding = "left";
};

// Seeded sampling from softmax(logits / temperature) restricted to the top_k
// largest logits (ties broken by the lower id). The uniform draw is built from
// the raw 64-bit engine output, so a seed gives the same ids on every platform.
int sample(std::span<const float> logits, double temperature, int top_k, std::mt19937_64& rng) {
  std::vector<int> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  const size_t k = top_k > 0 ? std::min(ids.size(), size_t(top_k)) : ids.size();
  auto higher = [&](int a, int b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), higher);
  ids.resize(k);
  std::vector<double> p(k);
  double sum = 0;
  for (size_t i = 0; i < k; ++i)
    sum += p[i] = std::exp((logits[ids[i]] - logits[ids[0]]) / temperature);
  const double u = double(rng() >> 11) * 0x1.0p-53 * sum;  // uniform in [0, sum)
  double acc = 0;
  for (size_t i = 0; i < k; ++i) {
    acc += p[i];
    if (u < acc) return ids[i];
  }
  return ids[k - 1];
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int run_batch_decode(const DecodeOptions& o, const optimized::KernelSet& set);

int run_decode(const DecodeOptions& o) {
  // Everything about the input is checked before any weights are generated
  // or any pass runs.
  const optimized::KernelSet& set = optimized::find_kernel(o.kernel);
  if (o.temperature < 0 || !std::isfinite(o.temperature))
    throw InputError("--temperature must be a finite number >= 0 (got " +
                     std::to_string(o.temperature) + ")");
  if (o.top_k > 0 && o.temperature == 0)
    throw InputError(
        "--top-k applies to sampling: give --temperature T > 0 with it (without "
        "--temperature, decoding is greedy)");
  if (!o.batch_file.empty()) return run_batch_decode(o, set);
  // The config alone (a preset's, or the checkpoint's config.json) decides
  // whether prompt + N fits, before any weights are read or generated.
  const Config config = o.source.config();
  // The checkpoint's tokenizer, when it has one: text input needs it, and
  // the continuation is shown as text with it.
  std::optional<Gpt2Tokenizer> tokenizer;
  const std::vector<int> prompt = o.input.resolve(config, o.source, tokenizer, true).ids;
  if (int64_t(prompt.size()) + o.max_new > config.n_ctx)
    throw InputError(std::string(o.input.option()) + " (" + std::to_string(prompt.size()) +
                     " tokens) + --max-new (" + std::to_string(o.max_new) +
                     ") exceeds the context of " + std::to_string(config.n_ctx) +
                     " positions (n_positions)");
  Weights<float> weights = o.source.load();
  if (!(weights.config == config))
    throw InputError(o.source.describe() + ": the weights' config differs from config.json");

  optimized::Engine engine(weights, set, resolve_threads(o.threads));
  weights = Weights<float>{};  // the engine keeps its own (packed) copy
  std::mt19937_64 rng(o.seed);
  auto pick = [&](std::span<const float> logits) {
    return o.temperature > 0 ? sample(logits, o.temperature, o.top_k, rng) : argmax(logits);
  };

  auto start = std::chrono::steady_clock::now();
  std::span<const float> logits = engine.prefill(prompt);
  std::printf("prefill: %zu tokens in %.3f ms\n", prompt.size(), ms_since(start));
  std::vector<int> generated;
  for (int i = 0; i < o.max_new; ++i) {
    start = std::chrono::steady_clock::now();
    const int next = pick(logits);
    generated.push_back(next);
    const int position = engine.position();
    if (i + 1 < o.max_new) logits = engine.decode(next);  // the last id needs no pass
    std::printf("token %d: id %d at position %d, %.3f ms\n", i + 1, next, position,
                ms_since(start));
  }
  // Other tools read this line: its format stays "generated: ID ID ...".
  std::string line = "generated:";
  for (int id : generated) line += " " + std::to_string(id);
  std::printf("%s\n", line.c_str());
  if (tokenizer) std::printf("text: %s\n", tokens_for_display(*tokenizer, generated).c_str());
  return 0;
}

// --batch-file: every line a prompt, prefilled together (padded on
// --padding's side) and decoded together; one "generated:" line per row, in
// the file's order, as a single decode of that prompt prints it. Each row
// samples with its own generator seeded with --seed, as a single decode does.
int run_batch_decode(const DecodeOptions& o, const optimized::KernelSet& set) {
  if (!o.input.tokens.empty() || !o.input.text.empty() || !o.input.text_file.empty())
    throw InputError(
        "--batch-file gives the prompts: it excludes --tokens, --text and --text-file");
  const Padding padding = parse_padding(o.padding);
  const Config config = o.source.config();
  const std::vector<std::vector<int>> prompts =
      parse_batch_file(read_file(o.batch_file, kMaxBatchFileBytes), config, o.batch_file);
  for (size_t r = 0; r < prompts.size(); ++r)
    if (int64_t(prompts[r].size()) + o.max_new > config.n_ctx)
      throw InputError(o.batch_file + ", line " + std::to_string(r + 1) + ": " +
                       std::to_string(prompts[r].size()) + " tokens + --max-new (" +
                       std::to_string(o.max_new) + ") exceeds the context of " +
                       std::to_string(config.n_ctx) + " positions (n_positions)");
  std::optional<Gpt2Tokenizer> tokenizer = o.source.tokenizer(config);
  Weights<float> weights = o.source.load();
  if (!(weights.config == config))
    throw InputError(o.source.describe() + ": the weights' config differs from config.json");
  optimized::Engine engine(weights, set, resolve_threads(o.threads));
  weights = Weights<float>{};

  const int B = static_cast<int>(prompts.size()), V = config.vocab_size;
  std::vector<std::mt19937_64> rngs(B, std::mt19937_64(o.seed));
  std::vector<std::vector<int>> generated(B);
  std::vector<int> next(B);
  auto pick = [&](std::span<const float> logits) {
    for (int r = 0; r < B; ++r) {
      const auto row = logits.subspan(size_t(r) * V, V);
      next[r] = o.temperature > 0 ? sample(row, o.temperature, o.top_k, rngs[r]) : argmax(row);
      generated[r].push_back(next[r]);
    }
  };
  optimized::BatchOptions options;
  options.padding = padding;
  options.max_new = o.max_new;
  size_t tokens = 0;
  for (const auto& p : prompts) tokens += p.size();
  auto start = std::chrono::steady_clock::now();
  std::span<const float> logits = engine.prefill_batch(prompts, options);
  std::printf("prefill: %d rows, %zu tokens (%s padding to %d columns) in %.3f ms\n", B, tokens,
              padding_name(padding), engine.batch_layout().width(), ms_since(start));
  for (int i = 0; i < o.max_new; ++i) {
    start = std::chrono::steady_clock::now();
    pick(logits);
    if (i + 1 < o.max_new) logits = engine.decode_batch(next);  // the last ids need no pass
    std::printf("step %d: %d tokens, %.3f ms\n", i + 1, B, ms_since(start));
  }
  // Other tools read these lines: each row's is "generated: ID ID ...", as
  // a single decode prints it.
  for (int r = 0; r < B; ++r) {
    std::string line = "generated:";
    for (int id : generated[r]) line += " " + std::to_string(id);
    std::printf("%s\n", line.c_str());
    if (tokenizer) std::printf("text: %s\n", tokens_for_display(*tokenizer, generated[r]).c_str());
  }
  return 0;
}

}  // namespace

Verb add_decode_verb(CLI::App& app) {
  auto o = std::make_shared<DecodeOptions>();
  CLI::App* command = app.add_subcommand(
      "decode",
      "Generate tokens on the KV-cached engine (greedy unless --temperature is given); prints "
      "'generated: ID ID ...' on one line, the continuation as text on the next when the "
      "checkpoint has a tokenizer ('text: \"...\"'), and the time of each token on the others");
  o->source.add_options(*command);
  o->input.add_options(*command);
  command->add_option("--max-new", o->max_new, "Tokens to generate (prompt + N <= n_positions)")
      ->required()
      ->check(CLI::Range(1, 1 << 30));
  command->add_option("--kernel", o->kernel, "Kernel set (see `gpt2-oracle kernels`)")
      ->capture_default_str();
  add_threads_option(*command, o->threads);
  command->add_option("--temperature", o->temperature,
                      "Sample from softmax(logits / T); 0 (default) is greedy");
  command
      ->add_option("--top-k", o->top_k,
                   "Sample among the K largest logits (0: all); needs --temperature")
      ->check(CLI::Range(0, 1 << 30));
  add_seed_option(*command, o->seed, "Seed of the sampler")->capture_default_str();
  CLI::Option* batch_file =
      command->add_option("--batch-file", o->batch_file,
                          "Decode a batch: one prompt per line (token ids, e.g. 5,17,3), prefilled "
                          "together and decoded together; one 'generated:' line per row, in the "
                          "file's order");
  command
      ->add_option("--padding", o->padding,
                   "With --batch-file: pad the prompts on the left (default, as Hugging "
                   "Face's generate) or the right")
      ->capture_default_str()
      ->needs(batch_file);
  return Verb{command, [o] { return run_decode(*o); }};
}

}  // namespace gpt2::cli
