// The checkpoint loader's cost in the size of a safetensors header: parsing
// and validating n tensor entries (strict JSON, duplicate keys, offsets,
// coverage). It must grow as n log n; the README quotes its 100,000-entry
// figure.
//
//   build/release/bench/loader_bench --benchmark_filter=Header
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "model/safetensors.h"

namespace {

// A file of n F32 tensors of one element each: "t0000000", "t0000001", ...
std::string file_of_n_tensors(int n) {
  std::string header = "{";
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%07d", i);
    header += std::string(i ? "," : "") + "\"" + name +
              "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" + std::to_string(4 * i) +
              "," + std::to_string(4 * i + 4) + "]}";
  }
  header += "}";
  std::string file(8, '\0');
  for (int b = 0; b < 8; ++b)
    file[b] = static_cast<char>((uint64_t{header.size()} >> (8 * b)) & 0xff);
  return file + header + std::string(4 * size_t(n), '\0');
}

void BM_HeaderParse(benchmark::State& state) {
  const std::string bytes = file_of_n_tensors(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    const gpt2::SafetensorsFile file = gpt2::SafetensorsFile::parse(bytes, "bench.safetensors");
    benchmark::DoNotOptimize(file.tensors().size());
  }
  state.SetComplexityN(state.range(0));
  state.counters["entries"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_HeaderParse)
    ->Arg(1000)
    ->Arg(10000)
    ->Arg(30000)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->Complexity(benchmark::oNLogN);

}  // namespace

BENCHMARK_MAIN();
