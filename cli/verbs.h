// The CLI's verbs. Each verb lives in its own cli/verb_<name>.cpp and adds
// one CLI11 subcommand; main.cpp lists them in one place.
//
// A verb's run() returns the exit code: 0 success, 1 a check failed. Bad
// input throws InputError (main prints one line on stderr and exits 2).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "model/weights.h"

namespace gpt2::cli {

struct Verb {
  CLI::App* command = nullptr;
  std::function<int()> run;
};

// --model NAME | --checkpoint DIR, shared by every verb that needs a model.
struct ModelSource {
  std::string model;       // preset name; "tiny" when neither is given
  std::string checkpoint;  // Hugging Face GPT-2 directory
  void add_options(CLI::App& command);
  // Loads (or generates) the weights; throws InputError.
  Weights<float> load() const;
  // "tiny" or the checkpoint directory, for reports.
  std::string describe() const;
};

// The most worker threads any verb accepts: results do not depend on the
// count, and beyond the machine's cores more threads only add hand-offs.
inline constexpr int kMaxThreads = 256;

// --threads N, 1 <= N <= kMaxThreads (default: all cores, at most
// kMaxThreads). Returns the option for chaining.
CLI::Option* add_threads_option(CLI::App& command, int& threads);
int resolve_threads(int requested);  // 0 -> std::thread::hardware_concurrency

// --seed N: a non-negative decimal integer below 2^64 ("-1" is refused, not
// wrapped around).
CLI::Option* add_seed_option(CLI::App& command, uint64_t& seed, const std::string& description);

// An output file a verb writes once its work is done: the option that named
// it, the path (empty: not asked for) and how to make its content.
struct Output {
  std::string option;
  std::string path;
  std::function<std::string()> content;
};

// Checks every output path before the work (check_output_file): a verb calls
// this first, so that a bad path costs no computation.
void check_outputs(const std::vector<Output>& outputs);

// Writes the outputs after the verdict is printed. A failed write is one
// line on stderr and does not stop the others, nor hide the verdict: the
// exit code is `verdict` when every write succeeded or when the verdict is a
// failed check (1), and 2 when a write failed after everything passed.
int write_outputs(int verdict, const std::vector<Output>& outputs);

Verb add_conformance_verb(CLI::App& app);
Verb add_run_verb(CLI::App& app);
Verb add_inspect_verb(CLI::App& app);
Verb add_export_verb(CLI::App& app);
Verb add_fixtures_verb(CLI::App& app);
Verb add_mask_ablation_verb(CLI::App& app);
Verb add_decode_verb(CLI::App& app);
Verb add_bench_verb(CLI::App& app);
Verb add_kernels_verb(CLI::App& app);

}  // namespace gpt2::cli
