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

// --threads N (default: all cores). Returns the option for chaining.
CLI::Option* add_threads_option(CLI::App& command, int& threads);

// --trace-level blocks|ops (model/trace.h): `level` holds the default on entry.
CLI::Option* add_trace_level_option(CLI::App& command, std::string& level);
int resolve_threads(int requested);  // 0 -> std::thread::hardware_concurrency

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
