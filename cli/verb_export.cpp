// gpt2-oracle export: write a model as a Hugging Face GPT-2 checkpoint.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/error.h"
#include "model/files.h"

namespace gpt2::cli {

Verb add_export_verb(CLI::App& app) {
  struct Options {
    ModelSource source;
    std::string out;
  };
  auto options = std::make_shared<Options>();
  CLI::App* command = app.add_subcommand(
      "export", "Write a preset as a Hugging Face GPT-2 checkpoint directory (config.json + "
                "model.safetensors, F32), atomically");
  options->source.add_options(*command);
  command->add_option("--out", options->out, "Directory to create (must not exist)")->required();
  return Verb{command, [options] {
                // Before the weights are made: the 124M preset takes seconds.
                if (path_kind(options->out) != PathKind::missing ||
                    std::filesystem::is_symlink(std::filesystem::symlink_status(options->out)))
                  throw InputError(options->out + ": already exists; choose a new directory");
                check_output_directory("--out", options->out);
                const Weights<float> weights = options->source.load();
                save_checkpoint(weights, options->out);
                std::printf("wrote %s (config.json, model.safetensors) from %s\n",
                            options->out.c_str(), options->source.describe().c_str());
                return 0;
              }};
}

}  // namespace gpt2::cli
