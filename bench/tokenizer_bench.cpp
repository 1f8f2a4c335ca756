// Google Benchmark program for GPT-2's tokenizer (model/tokenizer.h): encode
// throughput in MB/s (10^6 bytes per second) on one core, 1 MB of text, with
// GPT-2's own vocabulary (ci/setup unpacks it; model/gpt2_tokenizer_test_support.h).
//
//   tokenizer_bench                              every text, cache warm and cold
//   tokenizer_bench --benchmark_filter=Readme
//
// Texts (each cut to 1,000,000 bytes at a character boundary):
//   Readme    the project's README.md repeated: English prose with code, the
//             kind of text a prompt is. After the first pass every piece is
//             in the cache: this is the steady state of a long run.
//   ZipfTokens  GPT-2 tokens drawn at random (seed 1) with probability ~
//             1/rank over ids 256..50255 (lower ids were merged earlier, from
//             more frequent pairs) and concatenated: many more distinct
//             pieces than prose, so more byte-pair merging.
// "Cold" clears the cache before every pass: every piece is merged afresh.
// Decode (ids back to bytes) is measured on the Readme ids.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "model/files.h"
#include "model/gpt2_tokenizer_test_support.h"
#include "model/utf8.h"

namespace gpt2 {
namespace {

constexpr size_t kTextBytes = 1'000'000;

Gpt2Tokenizer& gpt2_tokenizer() {
  static Gpt2Tokenizer tokenizer = test_tokenizer::read_gpt2_tokenizer();
  return tokenizer;
}

// `text` repeated and cut to kTextBytes, at a character boundary.
std::string one_megabyte_of(const std::string& text) {
  std::string out;
  while (out.size() < kTextBytes) out += text;
  size_t end = kTextBytes;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xc0) == 0x80) --end;
  out.resize(end);
  return out;
}

const std::string& readme_text() {
  static const std::string text =
      one_megabyte_of(read_file(std::string(GPT2_ORACLE_SOURCE_DIR) + "/README.md"));
  return text;
}

const std::string& zipf_text() {
  static const std::string text = [] {
    Gpt2Tokenizer& t = gpt2_tokenizer();
    std::vector<int> ids;
    std::vector<double> weights;
    for (int id = 256; id < test_tokenizer::kGpt2EndOfText; ++id) {
      // Tokens that are whole UTF-8 text on their own, so the result is text.
      if (find_invalid_utf8(t.token_bytes(id)) != std::string::npos) continue;
      ids.push_back(id);
      weights.push_back(1.0 / double(ids.size()));
    }
    std::mt19937_64 rng(1);
    std::discrete_distribution<size_t> pick(weights.begin(), weights.end());
    std::string out;
    while (out.size() < kTextBytes) out += t.token_bytes(ids[pick(rng)]);
    return one_megabyte_of(out);
  }();
  return text;
}

void Encode(benchmark::State& state, const std::string& (*text)(), bool cold) {
  Gpt2Tokenizer& t = gpt2_tokenizer();
  const std::string& input = text();
  size_t tokens = 0;
  t.clear_cache();
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      t.clear_cache();
      state.ResumeTiming();
    }
    const std::vector<int> ids = t.encode(input);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(input.size()));
  state.counters["MB/s"] =
      benchmark::Counter(double(input.size()) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens"] = double(tokens);
}

void Decode(benchmark::State& state) {
  Gpt2Tokenizer& t = gpt2_tokenizer();
  const std::vector<int> ids = t.encode(readme_text());
  for (auto _ : state) benchmark::DoNotOptimize(t.decode(ids).data());
  state.counters["MB/s"] = benchmark::Counter(double(readme_text().size()) / 1e6,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_CAPTURE(Encode, Readme, readme_text, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Encode, ReadmeCold, readme_text, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Encode, ZipfTokens, zipf_text, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Encode, ZipfTokensCold, zipf_text, true)->Unit(benchmark::kMillisecond);
BENCHMARK(Decode)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace gpt2

BENCHMARK_MAIN();
