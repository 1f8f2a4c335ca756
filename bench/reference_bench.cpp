// Speed of the reference GPT-2 (issue: "Reference", Speed).
//
//   reference_bench                              tiny, 8 tokens, at f64 / 50 / 100 digits;
//                                                bare multiply-add and tanh loops of each scalar,
//                                                and of the 50-digit types not chosen
//   reference_bench --benchmark_filter=124m      the GPT-2 124M shape, 8 tokens, 2 threads, at
//                                                f64, dd (SIMD and scalar) and 50 digits
//                                                (about 2 minutes and 0.6 GB; registered
//                                                only when the filter names it)
//
// The counter time_per_madd is wall time divided by the forward pass's
// multiply-adds (projections, attention and logits; see count_multiply_adds),
// so it compares directly with BM_MultiplyAdd's bare loop on the same number
// of threads: the reference's overhead beyond its arithmetic.
#include <benchmark/benchmark.h>

#include <boost/multiprecision/cpp_bin_float.hpp>
#include <boost/multiprecision/cpp_dec_float.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "reference/dd_kernels.h"
#include "reference/forward.h"

namespace gpt2::reference {
namespace {

// Multiply-adds of a forward pass over T tokens:
//   per token and block: c_attn C·3C + c_proj C·C + c_fc C·4C + mlp c_proj 4C·C = 12·C²;
//   attention: query t has t + 1 keys, 2·(t + 1)·C (scores and weighted sum, all heads);
//   logits: C·V per token.
double count_multiply_adds(const Config& c, int T) {
  const double C = c.n_embd, V = c.vocab_size, L = c.n_layer;
  const double attention = 2.0 * C * T * (T + 1) / 2.0;
  return T * (L * 12.0 * C * C + C * V) + L * attention;
}

std::vector<int> bench_tokens(int T, int V) {
  std::vector<int> tokens(T);
  for (int i = 0; i < T; ++i) tokens[i] = (31 * i + 7) % V;
  return tokens;
}

template <class Real>
void forward_benchmark(benchmark::State& state, const Weights<float>& weights, int T, int threads) {
  const std::vector<int> tokens = bench_tokens(T, weights.config.vocab_size);
  Options options;
  options.threads = threads;
  for (auto _ : state) {
    Trace<Real> trace = forward<Real>(weights, tokens, options);
    benchmark::DoNotOptimize(trace.logits.data());
  }
  state.counters["threads"] = threads;
  state.counters["time_per_madd"] = benchmark::Counter(
      count_multiply_adds(weights.config, T),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// tiny, 8 tokens, full mode, one thread (target at 50 digits: under 50 ms).
template <class Real>
void BM_ReferenceTiny(benchmark::State& state) {
  forward_benchmark<Real>(state, preset_weights("tiny"), 8, 1);
}
BENCHMARK(BM_ReferenceTiny<double>)->Name("BM_ReferenceTiny/f64")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceTiny<Real50>)->Name("BM_ReferenceTiny/50")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ReferenceTiny<Real100>)->Name("BM_ReferenceTiny/100")->Unit(benchmark::kMillisecond);

// gpt2-124m-shape, 8 tokens, all logits, 50 digits, 2 threads (target: under
// 2 minutes on 2 cores). Generating the weights is not timed.
void BM_Reference124m(benchmark::State& state) {
  forward_benchmark<Real50>(state, preset_weights("gpt2-124m-shape"), 8, 2);
}

// The same pass at double, and at double-double on its widest SIMD path and
// on the scalar path (reference/dd_kernels.h): the dd tier's figures per
// multiply-add against 50 digits (issue 15: dd scalar >= 6x, dd SIMD >= 25x).
void BM_Reference124mDouble(benchmark::State& state) {
  forward_benchmark<double>(state, preset_weights("gpt2-124m-shape"), 8, 2);
}
void BM_Reference124mDd(benchmark::State& state, DdPath path) {
  const DdPath before = dd_path();
  force_dd_path(path);
  forward_benchmark<DoubleDouble>(state, preset_weights("gpt2-124m-shape"), 8, 2);
  state.SetLabel(dd_path_name(path));
  force_dd_path(before);
}

// The bare loop the reference's cost is measured against: a dot product
// acc += x[i]·w[i] over rows of 768 (GPT-2 124M's C) from 8 weight rows.
// With ->Threads(2) each thread runs its own loop and time_per_madd is overall
// (wall time over the multiply-adds of both threads).
template <class Real>
void BM_MultiplyAdd(benchmark::State& state) {
  const int n = 768, rows = 8;
  std::vector<Real> x(n), w(n * rows);
  for (int i = 0; i < n; ++i) x[i] = Real(0.001 * ((i * 37) % 101) - 0.05);
  for (int i = 0; i < n * rows; ++i) w[i] = Real(0.0002 * ((i * 53) % 211) - 0.02);
  int r = 0;
  for (auto _ : state) {
    Real acc = Real(0);
    const Real* w_row = &w[static_cast<size_t>(r) * n];
    for (int i = 0; i < n; ++i) acc += x[i] * w_row[i];
    benchmark::DoNotOptimize(acc);
    r = (r + 1) % rows;
  }
  // Counters are summed over threads and rates use all threads' iterations:
  // n / threads per thread gives wall time per multiply-add overall.
  state.counters["time_per_madd"] = benchmark::Counter(
      static_cast<double>(n) / state.threads(),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MultiplyAdd<double>)
    ->Name("BM_MultiplyAdd/f64")
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();
BENCHMARK(BM_MultiplyAdd<Real50>)->Name("BM_MultiplyAdd/50")->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_MultiplyAdd<Real100>)->Name("BM_MultiplyAdd/100")->Threads(1)->UseRealTime();

// The candidates for Real50 that were not chosen (reference/real.h), so the
// choice can be re-measured: --benchmark_filter=Candidate
namespace bmp = boost::multiprecision;
using CppBin50 = bmp::number<bmp::cpp_bin_float<50>, bmp::et_off>;
using CppDec50 = bmp::number<bmp::cpp_dec_float<50>, bmp::et_off>;
using MpfrDynamic50 = bmp::number<bmp::mpfr_float_backend<50>, bmp::et_off>;
BENCHMARK(BM_MultiplyAdd<CppBin50>)->Name("BM_Candidate/MultiplyAdd/cpp_bin_float_50");
BENCHMARK(BM_MultiplyAdd<CppDec50>)->Name("BM_Candidate/MultiplyAdd/cpp_dec_float_50");
BENCHMARK(BM_MultiplyAdd<MpfrDynamic50>)->Name("BM_Candidate/MultiplyAdd/mpfr_float_50");

// tanh, the transcendental function of gelu_new (one per hidden unit).
template <class Real>
void BM_Tanh(benchmark::State& state) {
  using std::tanh;
  Real x = Real(0.3);
  for (auto _ : state) {
    Real y = tanh(x);
    benchmark::DoNotOptimize(y);
    x += Real(1e-7);
  }
}
BENCHMARK(BM_Tanh<double>)->Name("BM_Tanh/f64");
BENCHMARK(BM_Tanh<Real50>)->Name("BM_Tanh/50");
BENCHMARK(BM_Tanh<Real100>)->Name("BM_Tanh/100");
BENCHMARK(BM_Tanh<CppBin50>)->Name("BM_Candidate/Tanh/cpp_bin_float_50");
BENCHMARK(BM_Tanh<CppDec50>)->Name("BM_Candidate/Tanh/cpp_dec_float_50");
BENCHMARK(BM_Tanh<MpfrDynamic50>)->Name("BM_Candidate/Tanh/mpfr_float_50");

}  // namespace
}  // namespace gpt2::reference

int main(int argc, char** argv) {
  // The 124M benchmark takes a minute or more: only when the filter names it.
  for (int i = 1; i < argc; ++i) {
    if (std::strstr(argv[i], "--benchmark_filter") != nullptr &&
        std::strstr(argv[i], "124m") != nullptr) {
      using namespace gpt2::reference;
      benchmark::RegisterBenchmark("BM_Reference124m/f64", BM_Reference124mDouble)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Reference124m/dd-simd", BM_Reference124mDd,
                                   dd_paths_supported().back())
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Reference124m/dd-scalar", BM_Reference124mDd, DdPath::scalar)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
      benchmark::RegisterBenchmark("BM_Reference124m/50", BM_Reference124m)
          ->Unit(benchmark::kSecond)
          ->Iterations(1)
          ->UseRealTime();
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
