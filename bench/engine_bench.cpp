// Google Benchmark program for the optimized engine (regression tracking).
//
//   engine_bench --benchmark_filter='Decode/'
//   engine_bench --benchmark_filter=DecodeStepAt    (step time at cache length 64, 512, 1000)
//   GPT2_BENCH_MODEL=small engine_bench      (default: gpt2-124m-shape)
//
// Counters: tok/s for prefill and decode, GB/s for the triad loop and the
// decode step's weight traffic, GFLOP/s for the GEMM. Threads: the benchmark
// argument (1 and 2 by default). Results within one kernel set do not depend
// on the thread count; the speed does.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "optimized/cpu_features.h"
#include "optimized/engine.h"
#include "optimized/panel_gemm.h"

namespace gpt2::optimized {
namespace {

const Weights<float>& model_weights() {
  static const Weights<float> w = [] {
    const char* name = std::getenv("GPT2_BENCH_MODEL");
    return preset_weights(name ? name : "gpt2-124m-shape");
  }();
  return w;
}

std::vector<int> random_tokens(int n, int vocab) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> d(0, vocab - 1);
  std::vector<int> t(n);
  for (int& v : t) v = d(rng);
  return t;
}

// One engine per (kernel, threads), built once.
Engine& engine_for(const std::string& kernel, int threads) {
  static std::map<std::pair<std::string, int>, std::unique_ptr<Engine>> engines;
  auto& e = engines[{kernel, threads}];
  if (!e) e = std::make_unique<Engine>(model_weights(), find_kernel(kernel), threads);
  return *e;
}

void Prefill(benchmark::State& state, const std::string& kernel, Logits which) {
  Engine& engine = engine_for(kernel, static_cast<int>(state.range(0)));
  const int T = std::min(128, engine.config().n_ctx);
  const auto tokens = random_tokens(T, engine.config().vocab_size);
  for (auto _ : state) {
    engine.reset();
    benchmark::DoNotOptimize(engine.prefill(tokens, Mask::causal, which).data());
  }
  state.counters["tok/s"] =
      benchmark::Counter(double(T), benchmark::Counter::kIsIterationInvariantRate);
}

// Times one decode step per iteration after a prefill of `prompt`; when the
// cache reaches `limit` positions it starts over from the prompt, untimed.
void decode_steps(benchmark::State& state, Engine& engine, const std::vector<int>& prompt,
                  int limit) {
  engine.reset();
  engine.prefill(prompt, Mask::causal, Logits::none);
  int token = 0;
  for (auto _ : state) {
    if (engine.position() == limit) {
      state.PauseTiming();
      engine.reset();
      engine.prefill(prompt, Mask::causal, Logits::none);
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(engine.decode(token).data());
    token = (token + 1) % engine.config().vocab_size;
  }
}

void Decode(benchmark::State& state, const std::string& kernel) {
  Engine& engine = engine_for(kernel, static_cast<int>(state.range(0)));
  const int start = std::min(128, engine.config().n_ctx / 2);
  decode_steps(state, engine, random_tokens(start, engine.config().vocab_size),
               engine.config().n_ctx);
  state.counters["tok/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["weight_GB/s"] = benchmark::Counter(double(engine.weight_bytes_per_token()) / 1e9,
                                                     benchmark::Counter::kIsIterationInvariantRate);
}

// One decode step at cache length `position` (range(1)) and the few after it:
// each prefill of `position` tokens (untimed) is followed by kSteps timed steps.
void DecodeStepAt(benchmark::State& state, const std::string& kernel) {
  constexpr int kSteps = 16;
  Engine& engine = engine_for(kernel, static_cast<int>(state.range(0)));
  const int position = static_cast<int>(state.range(1));
  if (position + kSteps > engine.config().n_ctx) {
    state.SkipWithError("the model's context is too short for this position");
    return;
  }
  decode_steps(state, engine, random_tokens(position, engine.config().vocab_size),
               position + kSteps);
}

// The engine's matrix product on 768x768x768 (prefill), or one row (decode),
// on one SIMD path (every path gives the same bits; this is their speed).
void PanelGemm(benchmark::State& state, WeightFormat format, int rows, Simd simd) {
  if (!cpu_supports(simd)) {
    state.SkipWithError((std::string("this CPU has no ") + simd_name(simd)).c_str());
    return;
  }
  const Simd saved = simd_in_use();
  set_simd(simd);
  const int n = 768, threads = static_cast<int>(state.range(0));
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> x(size_t(rows) * n), w(size_t(n) * n), y(size_t(rows) * n);
  for (float& v : x) v = d(rng);
  for (float& v : w) v = d(rng);
  const PanelMatrix packed = pack_panels(w.data(), n, n, false, format);
  ThreadPool pool(threads);
  std::vector<AlignedVector<float>> scratch(threads, AlignedVector<float>(gemm_scratch_floats(n)));
  for (auto _ : state) {
    pool.parallel_for(packed.panels(), [&](int begin, int end, int thread) {
      gemm_panels(x.data(), rows, n, packed, nullptr, y.data(), n, Epilogue::store, begin, end,
                  scratch[thread].data());
    });
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * rows * n * n / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  set_simd(saved);
}

// a = b + s·c over 3 x 64 MiB, STREAM's byte count (3 arrays).
void Triad(benchmark::State& state) {
  const size_t n = size_t(1) << 24;
  std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
  ThreadPool pool(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    pool.parallel_for(int(n / 4096), [&](int begin, int end, int) {
      for (size_t i = size_t(begin) * 4096; i < size_t(end) * 4096; ++i) a[i] = b[i] + 3.0f * c[i];
    });
    benchmark::DoNotOptimize(a.data());
  }
  state.counters["GB/s"] = benchmark::Counter(3.0 * n * sizeof(float) / 1e9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void register_all() {
  for (const char* kernel : {"eigen", "fast", "bf16"}) {
    const std::string k = kernel;
    benchmark::RegisterBenchmark(("Prefill128LastLogits/" + k).c_str(),
                                 [k](benchmark::State& s) { Prefill(s, k, Logits::last); })
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Prefill128AllLogits/" + k).c_str(),
                                 [k](benchmark::State& s) { Prefill(s, k, Logits::all); })
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(("Decode/" + k).c_str(),
                                 [k](benchmark::State& s) { Decode(s, k); })
        ->Arg(1)
        ->Arg(2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    if (k == "eigen") continue;  // its 1000-token prefills would dominate the run
    benchmark::RegisterBenchmark(("DecodeStepAt/" + k).c_str(),
                                 [k](benchmark::State& s) { DecodeStepAt(s, k); })
        ->ArgNames({"threads", "position"})
        ->Args({2, 64})
        ->Args({2, 512})
        ->Args({2, 1000})
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  for (auto [name, format] : {std::pair{"f32", WeightFormat::f32}, {"bf16", WeightFormat::bf16}})
    for (Simd simd : {Simd::avx2_fma, Simd::avx512}) {
      const WeightFormat f = format;
      const std::string suffix = std::string(name) + "/" + simd_name(simd);
      benchmark::RegisterBenchmark(("PanelGemm768/" + suffix).c_str(),
                                   [f, simd](benchmark::State& s) { PanelGemm(s, f, 768, simd); })
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("PanelGemv768/" + suffix).c_str(),
                                   [f, simd](benchmark::State& s) { PanelGemm(s, f, 1, simd); })
          ->Arg(1)
          ->Arg(2)
          ->UseRealTime();
    }
  benchmark::RegisterBenchmark("Triad", Triad)->Arg(1)->Arg(2)->UseRealTime();
}

}  // namespace
}  // namespace gpt2::optimized

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  gpt2::optimized::register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
