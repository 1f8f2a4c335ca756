// gpt2-oracle bench: throughput of the optimized engine, with the machine's
// own limits measured in the same run so that ratios are meaningful:
//   streaming bandwidth (a triad loop a[i] = b[i] + s·c[i] over arrays much
//   larger than the last-level cache, STREAM's byte count: 3 arrays; the
//   write-allocate read of a moves too, uncounted), a read-only loop over
//   two of those arrays (the access pattern of a decode step, which only
//   reads weights), and the best GEMM rate of the kernel set's own matrix
//   product on 768x768x768.
//
//   gpt2-oracle bench --model gpt2-124m-shape --kernel fast --threads 2 --json bench.json
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "cli/cpu_contention.h"
#include "cli/bench_batch.h"
#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "model/memory.h"
#include "optimized/cpu_features.h"
#include "optimized/engine.h"

namespace gpt2::cli {

namespace {

using Clock = std::chrono::steady_clock;
// Passes of the triad (and of the read-only loop) per measurement, best kept:
// one pass is ~20 ms, so a single descheduling spoils one pass, not the figure.
constexpr int kTriadPasses = 5;

struct BenchOptions {
  ModelSource source;
  std::string kernel = "fast";
  int threads = 0;
  int prompt = 128;  // prefill length
  int steps = 128;   // decode steps
  std::string json;
  std::string batch;  // --batch B,...: batched decode only (cli/bench_batch.h)
};

// Best (smallest) time of `reps` runs of f, in seconds.
template <class F>
double best_of(int reps, F&& f) {
  double best = 1e300;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    f();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Triad a = b + s·c over 3 arrays of 64 MiB (twice a 32 MiB L3 each), split
// in contiguous shares over the pool's threads. Bytes counted as STREAM does:
// 3 arrays per pass (the write-allocate read of `a` is not counted).
class Triad {
 public:
  explicit Triad(optimized::ThreadPool& pool) : pool_(pool), a_(kN), b_(kN, 1.0f), c_(kN, 2.0f) {
    pass();  // first touch
  }
  static constexpr size_t array_bytes() { return kN * sizeof(float); }
  double best_gb_s(int reps) {
    return 3.0 * array_bytes() / best_of(reps, [&] { pass(); }) / 1e9;
  }
  // Reads b and c (2 arrays).
  double best_read_gb_s(int reps) {
    return 2.0 * array_bytes() / best_of(reps, [&] { read_pass(); }) / 1e9;
  }

 private:
  static constexpr size_t kN = size_t(1) << 24;
  void pass() {
    pool_.parallel_for(static_cast<int>(kN / 4096), [&](int begin, int end, int) {
      for (size_t i = size_t(begin) * 4096; i < size_t(end) * 4096; ++i)
        a_[i] = b_[i] + 3.0f * c_[i];
    });
  }
  void read_pass() {
    pool_.parallel_for(static_cast<int>(kN / 4096), [&](int begin, int end, int thread) {
      const size_t i0 = size_t(begin) * 4096, n = size_t(end - begin) * 4096;
      sink_[thread] = optimized::has_avx2(optimized::simd_in_use())
                          ? read_avx2(b_.data() + i0, c_.data() + i0, n)
                          : read_scalar(b_.data() + i0, c_.data() + i0, n);
    });
  }
  // Sums b[0..n) and c[0..n), each in two halves: four streams at once, the
  // memory-level parallelism of a decode step reading panels side by side.
  static float read_scalar(const float* b, const float* c, size_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const size_t h = n / 2;
    for (size_t i = 0; i < h; i += 2)
      for (int l = 0; l < 2; ++l)
        s[l] += b[i + l], s[2 + l] += b[h + i + l], s[4 + l] += c[i + l], s[6 + l] += c[h + i + l];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
  }
#if defined(__x86_64__)
  __attribute__((target("avx2"))) static float read_avx2(const float* b, const float* c, size_t n) {
    const size_t h = n / 2;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i < h; i += 8) {
      s0 = _mm256_add_ps(s0, _mm256_loadu_ps(b + i));
      s1 = _mm256_add_ps(s1, _mm256_loadu_ps(b + h + i));
      s2 = _mm256_add_ps(s2, _mm256_loadu_ps(c + i));
      s3 = _mm256_add_ps(s3, _mm256_loadu_ps(c + h + i));
    }
    alignas(32) float v[8];
    _mm256_store_ps(v, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  }
#else
  static float read_avx2(const float* b, const float* c, size_t n) { return read_scalar(b, c, n); }
#endif
  optimized::ThreadPool& pool_;
  std::vector<float> a_, b_, c_;
  std::vector<float> sink_ = std::vector<float>(pool_.size());  // keeps the sums alive
};

// The GEMM the kernel set itself uses, on 768x768x768: its project() of a
// [768, 768] weight (attn.c_proj of a one-block model with C = 768, random
// weights) over 768 rows, threaded on the same pool size as the engine. Any
// kernel set, built in or added later, is measured through its own code.
class KernelGemm {
 public:
  KernelGemm(const optimized::KernelSet& set, optimized::ThreadPool& pool) {
    Weights<float> w = zero_weights<float>(make_config(1, 12, kN, kN, 16));
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<float> d(-1, 1);
    for (float& v : w.blocks[0].attn_c_proj_weight) v = d(rng);
    x_.resize(size_t(kN) * kN);
    y_.resize(x_.size());
    for (float& v : x_) v = d(rng);
    kernels_ = set.create(w, pool);
    run();
  }
  double best_gflop_s(int reps) {
    return 2.0 * kN * kN * kN / best_of(reps, [&] { run(); }) / 1e9;
  }

 private:
  static constexpr int kN = 768;
  void run() {
    const optimized::Pass pass{0, kN, Mask::causal, false};
    kernels_->project(pass, 0, optimized::Projection::attn_proj, x_.data(), y_.data(), false);
  }
  std::unique_ptr<optimized::Kernels> kernels_;
  std::vector<float> x_, y_;
};

// Resident memory now (Linux /proc/self/statm; 0 where unavailable).
double current_rss_mib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  long pages_total = 0, pages_resident = 0;
  const int n = std::fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  std::fclose(f);
  return n == 2 ? pages_resident * double(sysconf(_SC_PAGESIZE)) / (1 << 20) : 0;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // ru_maxrss is in KiB on Linux
}

// A run is unsteady when its slowest decode round is more than this far below
// its fastest: it then cannot tell a regression from the machine's mood.
constexpr double kUnsteadySpread = 0.10;
// A round waited on the CPUs when this process's threads spent more than
// this fraction of the time (per CPU) runnable but off the CPUs, or stolen.
constexpr double kContended = 0.02;

// The decode speed of every round beside its triad and what kept the process
// off the CPUs, the spread over the rounds, and, when the rounds disagree, a
// flag with the evidence for the cause.
template <class Round>
void report_rounds(const std::vector<Round>& rounds, double bytes_per_token, nlohmann::json& out) {
  std::vector<double> speeds;
  nlohmann::json per_round = nlohmann::json::array();
  bool contention_known = true;
  for (const Round& r : rounds) {
    speeds.push_back(r.decode_tok_s);
    const double fraction = bytes_per_token * r.decode_tok_s / 1e9 / r.triad_gb_s;
    contention_known = contention_known && r.decode_contention.available;
    per_round.push_back({{"decode_tok_s", r.decode_tok_s},
                         {"triad_gb_s", r.triad_gb_s},
                         {"decode_fraction_of_triad", fraction},
                         {"run_queue_wait_fraction", r.decode_contention.run_queue_wait_fraction()},
                         {"steal_fraction", r.decode_contention.steal_fraction()}});
  }
  const double fastest = *std::max_element(speeds.begin(), speeds.end());
  const double slowest = *std::min_element(speeds.begin(), speeds.end());
  const double spread = 1 - slowest / fastest;
  const bool unsteady = spread > kUnsteadySpread;
  auto row = [&](const char* label, auto value_of, const char* format) {
    std::printf("  %-34s", label);
    for (const Round& r : rounds) std::printf(format, value_of(r));
    std::printf("\n");
  };
  std::printf("decode over %zu rounds: median %.2f tok/s, slowest %.0f%% below fastest: %s\n",
              rounds.size(), median(speeds), 100 * spread,
              unsteady ? "UNSTEADY (see the cause below)" : "steady");
  row(
      "tok/s", [](const Round& r) { return r.decode_tok_s; }, " %7.2f");
  row(
      "triad GB/s (just before)", [](const Round& r) { return r.triad_gb_s; }, " %7.2f");
  row(
      "decode weight bandwidth / triad %",
      [&](const Round& r) { return 100 * bytes_per_token * r.decode_tok_s / 1e9 / r.triad_gb_s; },
      " %7.0f");
  if (contention_known) {
    row(
        "run-queue wait % (threads off-CPU)",
        [](const Round& r) { return 100 * r.decode_contention.run_queue_wait_fraction(); },
        " %7.1f");
    row(
        "steal % (hypervisor)",
        [](const Round& r) { return 100 * r.decode_contention.steal_fraction(); }, " %7.1f");
  }
  // The cause: the slow rounds (more than the allowed spread below the
  // fastest), and whether they waited on the CPUs.
  std::string cause;
  if (unsteady) {
    double worst_wait = 0, worst_steal = 0, slow_triad = 1e300, fast_triad = 0;
    for (const Round& r : rounds) {
      if (r.decode_tok_s < (1 - kUnsteadySpread) * fastest) {
        worst_wait = std::max(worst_wait, r.decode_contention.run_queue_wait_fraction());
        worst_steal = std::max(worst_steal, r.decode_contention.steal_fraction());
        slow_triad = std::min(slow_triad, r.triad_gb_s);
      } else {
        fast_triad = std::max(fast_triad, r.triad_gb_s);
      }
    }
    char text[400];
    if (!contention_known) {
      cause = "unknown: this system does not report run-queue waits (/proc/self/task/*/schedstat)";
    } else if (worst_wait > kContended || worst_steal > kContended) {
      std::snprintf(text, sizeof text,
                    "CPU contention: in the slow rounds this process's threads waited up to "
                    "%.0f%% of the time on the run queue (other processes wanted the cores) and "
                    "up to %.0f%% was stolen by the hypervisor; the machine was busy, the "
                    "figures above are the best round's",
                    100 * worst_wait, 100 * worst_steal);
      cause = text;
    } else if (slow_triad < (1 - kUnsteadySpread) * fast_triad) {
      std::snprintf(text, sizeof text,
                    "memory bandwidth: no CPU contention in the slow rounds, but the triad "
                    "dropped with them (%.1f against %.1f GB/s): the memory system was shared",
                    slow_triad, fast_triad);
      cause = text;
    } else {
      cause =
          "not explained: no CPU contention and the triad held in the slow rounds (a change in "
          "the engine's own behaviour, or a limit not measured here)";
    }
    std::printf("  cause: %s\n", cause.c_str());
  }
  out["decode_rounds"] = per_round;
  out["decode_median_tok_s"] = median(speeds);
  out["decode_spread"] = spread;
  out["decode_unsteady"] = unsteady;
  out["decode_unsteady_threshold"] = kUnsteadySpread;
  if (unsteady) out["decode_unsteady_cause"] = cause;
  out["cpu_contention_measured"] = contention_known;
}

constexpr int kRounds = 5;
// Step time by cache length: kStepsPerPosition steps at positions p, p+1, ...
// after a prefill of p random tokens, every round.
constexpr int kStepsPerPosition = 8;

struct Round {
  double decode_tok_s = 0, triad_gb_s = 0;
  CpuContention decode_contention;
};

// The best of kRounds rounds of every figure, each round's decode figures,
// and the step times by cache length.
struct BenchRounds {
  double triad = 0, read_bw = 0, gemm = 0, t_last = 1e300, t_all = 1e300, t_decode = 1e300;
  std::vector<Round> rounds;
  std::map<int, std::vector<double>> step_times;
};

// The measurements of `bench`: prefill of `prompt` (last-position and
// all-position logits), `steps` greedy decode steps after it, decode steps by
// cache length, and the machine's triad bandwidth and the set's GEMM speed.
BenchRounds measure_rounds(optimized::Engine& engine, Triad& triad_loop, KernelGemm& gemm_loop,
                           const std::vector<int>& prompt, int steps, const Config& config,
                           std::mt19937_64& rng, std::uniform_int_distribution<int>& token) {
  // Rounds interleave every figure with the machine's limits, and each keeps
  // its best: on a shared machine the ratios then compare measurements taken
  // over the same stretch of time. Each round also records its own decode
  // speed, its own triad and what kept this process off the CPUs meanwhile,
  // so that a run whose rounds disagree says so, and why (see below).
  BenchRounds m;
  auto time_steps_at = [&](int p) {
    engine.reset();
    std::vector<int> tokens(p);
    for (int& t : tokens) t = token(rng);
    engine.prefill(tokens, Mask::causal, optimized::Logits::none);
    for (int i = 0; i < kStepsPerPosition; ++i) {
      const auto start = Clock::now();
      engine.decode(token(rng));
      m.step_times[p].push_back(seconds_since(start));
    }
  };
  for (int round = 0; round < kRounds; ++round) {
    for (int p : {64, 512, 1000})
      if (p + kStepsPerPosition <= config.n_ctx) time_steps_at(p);
    m.gemm = std::max(m.gemm, gemm_loop.best_gflop_s(2));
    m.t_last = std::min(m.t_last, best_of(1, [&] {
                          engine.reset();
                          engine.prefill(prompt, Mask::causal, optimized::Logits::last);
                        }));
    m.t_all = std::min(m.t_all, best_of(1, [&] {
                         engine.reset();
                         engine.prefill(prompt, Mask::causal, optimized::Logits::all);
                       }));
    Round r;
    r.triad_gb_s = triad_loop.best_gb_s(kTriadPasses);  // right before the decode
    m.triad = std::max(m.triad, r.triad_gb_s);
    m.read_bw = std::max(m.read_bw, triad_loop.best_read_gb_s(kTriadPasses));
    if (steps > 0) {  // `steps` greedy steps after the prompt
      engine.reset();
      auto logits = engine.prefill(prompt);
      const CpuContentionMeter meter;
      const auto start = Clock::now();
      for (int i = 0; i < steps; ++i) logits = engine.decode(argmax(logits));
      const double t = seconds_since(start);
      r.decode_contention = meter.stop();
      r.decode_tok_s = steps / t;
      m.t_decode = std::min(m.t_decode, t);
    }
    m.rounds.push_back(r);
  }
  // Once more, after the last decode.
  m.triad = std::max(m.triad, triad_loop.best_gb_s(kTriadPasses));
  m.read_bw = std::max(m.read_bw, triad_loop.best_read_gb_s(kTriadPasses));
  return m;
}

int run_bench(const BenchOptions& o) {
  if (!o.batch.empty())
    return run_batch_bench(BatchBenchOptions{o.source, o.kernel, resolve_threads(o.threads),
                                             o.prompt, o.steps, o.batch, o.json});
  const optimized::KernelSet& set = optimized::find_kernel(o.kernel);
  if (!o.json.empty()) check_output_file("--json", o.json);  // before any work
  const int threads = resolve_threads(o.threads);
  Weights<float> weights = o.source.load();
  const Config config = weights.config;
  // A model whose context cannot hold prompt + steps (the small presets)
  // gets half of it for the prompt and the rest for decode steps.
  int prompt_len = o.prompt;
  if (prompt_len + o.steps > config.n_ctx)
    prompt_len = std::min(o.prompt, std::max(1, config.n_ctx / 2));
  const int steps = std::min(o.steps, config.n_ctx - prompt_len);
  if (prompt_len != o.prompt || steps != o.steps)
    std::fprintf(stderr,
                 "gpt2-oracle: bench: --prompt %d and --steps %d do not fit the context of %d "
                 "positions; measuring a %d-token prompt and %d decode steps\n",
                 o.prompt, o.steps, config.n_ctx, prompt_len, steps);

  optimized::Engine engine(weights, set, threads);
  weights = Weights<float>{};  // the engine holds its own (packed) copy
  const double engine_rss = current_rss_mib();
  const double load_peak_rss = peak_rss_mib();  // before the triad's and GEMM's own buffers
  optimized::ThreadPool pool(threads);          // for the machine's own figures

  nlohmann::json out;
  out["model"] = o.source.describe();
  out["kernel"] = set.name;
  out["threads"] = threads;
  out["simd"] = optimized::simd_name(optimized::simd_in_use());

  Triad triad_loop(pool);
  KernelGemm gemm_loop(set, pool);

  std::mt19937_64 rng(2024);
  std::uniform_int_distribution<int> token(0, config.vocab_size - 1);
  std::vector<int> prompt(prompt_len);
  for (int& t : prompt) t = token(rng);
  engine.prefill(prompt);  // warm-up

  const BenchRounds m =
      measure_rounds(engine, triad_loop, gemm_loop, prompt, steps, config, rng, token);
  const double triad = m.triad, read_bw = m.read_bw, gemm = m.gemm;
  const double t_last = m.t_last, t_all = m.t_all, t_decode = m.t_decode;
  out["rounds"] = kRounds;
  out["triad_bandwidth_gb_s"] = triad;
  out["read_bandwidth_gb_s"] = read_bw;
  out["gemm_768_gflop_s"] = gemm;
  out["gemm_768_kind"] = "kernel set '" + set.name + "' project() on [768, 768] x 768 rows (" +
                         optimized::simd_name(optimized::simd_in_use()) + ")";
  std::string paths;
  nlohmann::json paths_json = nlohmann::json::array();
  for (optimized::Simd p : optimized::supported_simd_paths()) {
    paths += (paths.empty() ? "" : ", ") + std::string(optimized::simd_name(p));
    paths_json.push_back(optimized::simd_name(p));
  }
  out["simd_supported"] = paths_json;
  std::printf("model %s, kernel %s, %d thread(s), best of %d interleaved rounds\n",
              o.source.describe().c_str(), set.name.c_str(), threads, kRounds);
  std::printf(
      "SIMD path: %s (chosen at run time; this CPU has %s; every path gives the same bits)\n",
      optimized::simd_name(optimized::simd_in_use()), paths.c_str());
  std::printf(
      "triad streaming bandwidth: %.2f GB/s (STREAM count, 3 arrays); read-only: %.2f GB/s\n",
      triad, read_bw);
  // STREAM's rule: each array at least 4 times the caches. Where the largest
  // cache is bigger than that allows, part of the arrays may be read from it
  // (on a 2-core Xeon with a 480 MiB last-level cache shared with other
  // machines, the triad read 25 GB/s over 3 x 64 MiB and 22 over 3 x 1 GiB,
  // the read-only loop 42-46 over 2 x 64 MiB and 21-23 over 2 x 0.5-1 GiB).
  const size_t cache = largest_cache_bytes();
  out["largest_cache_bytes"] = cache;
  out["triad_array_bytes"] = Triad::array_bytes();
  if (cache > 0 && 4 * cache > Triad::array_bytes())
    std::printf(
        "note: this CPU's largest cache (%.0f MiB) may hold part of the loops' arrays (%.0f MiB "
        "each; STREAM asks for 4 times the cache): their figures may read high\n",
        cache / 1048576.0, Triad::array_bytes() / 1048576.0);
  std::printf("GEMM 768x768x768 (the %s set's own matrix product): %.1f GFLOP/s\n",
              set.name.c_str(), gemm);

  // Prefill FLOPs: 2 · (matrix parameters of the blocks) · T + the last
  // position's logits (attention's T²-terms are left out).
  const double matmul_params = 12.0 * config.n_layer * config.n_embd * config.n_embd;
  const double prefill_flops =
      2.0 * matmul_params * prompt_len + 2.0 * double(config.vocab_size) * config.n_embd;
  out["prefill_tokens"] = prompt_len;
  out["prefill_last_logits_tok_s"] = prompt_len / t_last;
  out["prefill_all_logits_tok_s"] = prompt_len / t_all;
  out["prefill_last_logits_gflop_s"] = prefill_flops / t_last / 1e9;
  out["prefill_fraction_of_gemm_peak"] = prefill_flops / t_last / 1e9 / gemm;
  std::printf(
      "prefill %d tokens, last-position logits: %.1f tok/s (%.1f ms, %.1f GFLOP/s = "
      "%.0f%% of the GEMM peak)\n",
      prompt_len, prompt_len / t_last, t_last * 1e3, prefill_flops / t_last / 1e9,
      100 * prefill_flops / t_last / 1e9 / gemm);
  std::printf("prefill %d tokens, all-position logits: %.1f tok/s (%.1f ms)\n", prompt_len,
              prompt_len / t_all, t_all * 1e3);
  if (steps > 0) {
    const double bytes = double(engine.weight_bytes_per_token());
    const double tok_s = steps / t_decode;
    out["decode_steps"] = steps;
    out["decode_tok_s"] = tok_s;
    out["weight_bytes_per_token"] = bytes;
    out["decode_weight_bandwidth_gb_s"] = bytes * tok_s / 1e9;
    out["decode_fraction_of_triad"] = bytes * tok_s / 1e9 / triad;
    out["decode_fraction_of_read_bandwidth"] = bytes * tok_s / 1e9 / read_bw;
    std::printf("decode %d steps from position %d: %.2f tok/s (%.2f ms/token)\n", steps, prompt_len,
                tok_s, 1e3 / tok_s);
    std::printf(
        "decode weight bandwidth: %.1f MB/token x %.2f tok/s = %.2f GB/s = %.0f%% of triad, "
        "%.0f%% of read-only\n",
        bytes / 1e6, tok_s, bytes * tok_s / 1e9, 100 * bytes * tok_s / 1e9 / triad,
        100 * bytes * tok_s / 1e9 / read_bw);
    report_rounds(m.rounds, bytes, out);
  }

  nlohmann::json by_position = nlohmann::json::object();
  for (const auto& [p, times] : m.step_times) {
    by_position[std::to_string(p)] = median(times) * 1e3;
    std::printf(
        "decode step at position %d: %.2f ms (median of %zu steps at %d..%d over %d rounds)\n", p,
        median(times) * 1e3, times.size(), p, p + kStepsPerPosition - 1, kRounds);
  }
  out["decode_step_ms_by_position"] = by_position;
  // A step at position p also reads the cached keys and values of p positions
  // (float32, every layer): the linear growth to expect, at triad bandwidth.
  const double kv_bytes = 2.0 * config.n_layer * config.n_embd * sizeof(float);
  out["kv_cache_bytes_per_position"] = kv_bytes;
  out["kv_cache_us_per_position_at_triad"] = kv_bytes / (triad * 1e9) * 1e6;
  std::printf(
      "cache read per position: %.1f KB = %.2f us per position at triad bandwidth (linear "
      "growth)\n",
      kv_bytes / 1e3, kv_bytes / (triad * 1e9) * 1e6);
  out["load_peak_rss_mib"] = load_peak_rss;
  out["engine_rss_mib"] = engine_rss;
  out["peak_rss_mib"] = peak_rss_mib();
  std::printf(
      "peak resident memory: %.0f MiB while loading (the float32 weights and the engine's copy "
      "overlap); %.0f MiB for the engine after load; %.0f MiB for the whole run (with the "
      "bandwidth loops' arrays)\n",
      load_peak_rss, engine_rss, peak_rss_mib());
  if (!o.json.empty()) write_file_atomic(o.json, out.dump(2) + "\n");
  return 0;
}

}  // namespace

Verb add_bench_verb(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* command = app.add_subcommand(
      "bench",
      "Throughput of the optimized engine: prefill and decode tokens/s, step time by position, "
      "decode weight bandwidth against a triad loop and the GEMM peak, measured in one run");
  o->source.add_options(*command);
  command->add_option("--kernel", o->kernel, "Kernel set (see `gpt2-oracle kernels`)")
      ->capture_default_str();
  add_threads_option(*command, o->threads);
  command->add_option("--prompt", o->prompt, "Prefill length in tokens")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 20));
  command->add_option("--steps", o->steps, "Decode steps after the prompt")
      ->capture_default_str()
      ->check(CLI::Range(0, 1 << 20));
  command->add_option("--json", o->json, "Write every figure to this JSON file");
  command->add_option("--batch", o->batch,
                      "Batched decode only: tokens/s over all rows for each batch size "
                      "(e.g. 1,4,16), B rows of a --prompt-token prompt, then --steps steps");
  return Verb{command, [o] { return run_bench(*o); }};
}

}  // namespace gpt2::cli
