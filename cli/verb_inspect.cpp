// gpt2-oracle inspect: config, parameter count, tensor table, weights sha256.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/files.h"
#include "model/safetensors.h"

namespace gpt2::cli {

namespace {

void print_config(const Config& c) {
  std::printf(
      "config: n_layer %d, n_head %d, n_embd %d, n_positions %d, vocab_size %d, "
      "layer_norm_epsilon %g, activation %s\n",
      c.n_layer, c.n_head, c.n_embd, c.n_ctx, c.vocab_size, c.layer_norm_epsilon,
      c.activation.c_str());
  std::printf("parameters: %lld (lm_head tied to wte)\n",
              static_cast<long long>(c.parameter_count()));
}

void print_table(const std::vector<TensorInfo>& tensors) {
  size_t width = 4;
  for (const auto& t : tensors) width = std::max(width, t.name.size());
  std::printf("%-*s  %-5s  %s\n", static_cast<int>(width), "name", "dtype", "shape");
  for (const auto& t : tensors)
    std::printf("%-*s  %-5s  %s\n", static_cast<int>(width), t.name.c_str(), dtype_name(t.dtype),
                shape_text(t.shape).c_str());
}

int run_inspect(const ModelSource& source) {
  if (!source.checkpoint.empty()) {
    // Load fully first: every check of the loader runs before anything is
    // printed, so a bad checkpoint prints one error line and nothing else.
    const Weights<float> weights = load_checkpoint(source.checkpoint);
    const std::string path =
        (std::filesystem::path(source.checkpoint) / "model.safetensors").string();
    const std::string bytes = read_file(path);
    const SafetensorsFile file = SafetensorsFile::parse(bytes, path);
    std::printf("checkpoint: %s\n", source.checkpoint.c_str());
    print_config(weights.config);
    std::printf("weights: %s, sha256 %s\n", path.c_str(), sha256_hex(bytes).c_str());
    print_table(file.tensors());
    return 0;
  }
  const Preset& preset = find_preset(source.model.empty() ? "tiny" : source.model);
  const Weights<float> weights = seeded_weights(preset.config, preset.seed);
  std::vector<TensorToWrite> tensors;
  std::vector<TensorInfo> table;
  for_each_tensor(weights,
                  [&](const std::string& name, const std::vector<float>& t, const Shape& shape) {
                    tensors.push_back(TensorToWrite{name, Dtype::F32, shape, nullptr, t.data()});
                    table.push_back(TensorInfo{name, Dtype::F32, shape, 0, 0});
                  });
  std::printf("model: %s (built-in preset, seed 0x%llx): %s\n", preset.name.c_str(),
              static_cast<unsigned long long>(preset.seed), preset.description.c_str());
  print_config(weights.config);
  // The digest of the model.safetensors that `export` writes for this preset.
  std::printf("weights: generated, sha256 %s (of the model.safetensors `export` writes)\n",
              sha256_hex(serialize_safetensors(tensors, {{"format", "pt"}})).c_str());
  print_table(table);
  return 0;
}

}  // namespace

Verb add_inspect_verb(CLI::App& app) {
  auto source = std::make_shared<ModelSource>();
  CLI::App* command = app.add_subcommand("inspect",
                                         "Show a checkpoint's or preset's config, parameter count, "
                                         "tensor table and weights sha256");
  source->add_options(*command);
  return Verb{command, [source] { return run_inspect(*source); }};
}

}  // namespace gpt2::cli
