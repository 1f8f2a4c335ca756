#include <thread>

#include "cli/verbs.h"
#include "model/checkpoint.h"

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
  return command.add_option("--threads", threads, "Worker threads (default: all cores)")
      ->check(CLI::Range(1, 4096));
}

CLI::Option* add_trace_level_option(CLI::App& command, std::string& level) {
  return command
      .add_option("--trace-level", level,
                  "blocks (embed, block.{l}, ln_f, logits) or ops (also the six tensors inside "
                  "every block: ln_1, qkv, attn, mid, ln_2, gelu); default " + level)
      ->check(CLI::IsMember({"blocks", "ops"}));
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(cores);
}

}  // namespace gpt2::cli
