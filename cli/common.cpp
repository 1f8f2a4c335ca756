#include <algorithm>
#include <cstdio>
#include <thread>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/error.h"
#include "model/files.h"

namespace gpt2::cli {

void ModelSource::add_options(CLI::App& command) {
  auto* model_option =
      command.add_option("--model", model, "Built-in model (preset): tiny (default), small, "
                                           "gpt2-124m-shape");
  auto* checkpoint_option = command.add_option(
      "--checkpoint", checkpoint, "Hugging Face GPT-2 directory (config.json + model.safetensors)");
  model_option->excludes(checkpoint_option);
}

Weights<float> ModelSource::load() const {
  if (!checkpoint.empty()) return load_checkpoint(checkpoint);
  return preset_weights(model.empty() ? "tiny" : model);
}

std::string ModelSource::describe() const {
  if (!checkpoint.empty()) return checkpoint;
  return model.empty() ? "tiny" : model;
}

CLI::Option* add_threads_option(CLI::App& command, int& threads) {
  return command
      .add_option(
          "--threads", threads,
          "Worker threads, at most " + std::to_string(kMaxThreads) + " (default: all cores)")
      ->check(CLI::Range(1, kMaxThreads));
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(std::min<unsigned>(cores, kMaxThreads));
}

CLI::Option* add_seed_option(CLI::App& command, uint64_t& seed, const std::string& description) {
  // CLI11 reads an unsigned option with strtoull, which wraps "-1" around to
  // 2^64 - 1: only digits make a seed.
  const CLI::Validator digits_only(
      [](std::string& text) {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return "expected a non-negative integer, found '" + text + "'";
        return std::string();
      },
      "UINT");
  return command.add_option("--seed", seed, description)->check(digits_only);
}

void check_outputs(const std::vector<Output>& outputs) {
  for (const Output& o : outputs)
    if (!o.path.empty()) check_output_file(o.option, o.path);
}

int write_outputs(int verdict, const std::vector<Output>& outputs) {
  bool failed = false;
  for (const Output& o : outputs) {
    if (o.path.empty()) continue;
    try {
      write_file_atomic(o.path, o.content());
    } catch (const InputError& e) {
      std::fprintf(stderr, "gpt2-oracle: %s: %s\n", o.option.c_str(), e.what());
      failed = true;
    }
  }
  if (!failed) return verdict;
  if (verdict == 1)
    std::fprintf(stderr,
                 "gpt2-oracle: the verdict above stands: a check failed (exit 1), and an output "
                 "was not written\n");
  return verdict == 1 ? 1 : 2;
}

}  // namespace gpt2::cli
