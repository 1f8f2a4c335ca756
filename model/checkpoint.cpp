#include "model/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

#include "model/error.h"
#include "model/files.h"
#include "model/init.h"
#include "model/safetensors.h"

namespace gpt2 {

namespace fs = std::filesystem;

namespace {

// The non-parameter buffers a GPT-2 checkpoint may carry (the causal mask
// and the masked-score constant of old transformers versions).
bool is_ignored_buffer(const std::string& name) {
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name.rfind("h.", 0) == 0 && (ends_with(".attn.bias") || ends_with(".attn.masked_bias"));
}

void check_finite(const std::vector<float>& values, const std::string& source,
                  const std::string& name) {
  for (size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw InputError(source + ": tensor '" + name + "' has a non-finite value (" +
                       std::to_string(values[i]) + ") at element " + std::to_string(i));
}

}  // namespace

void check_weights_fit_file(const Config& config, const std::string& config_source,
                            uint64_t file_bytes, const std::string& weights_path) {
  // Every parameter takes at least 2 bytes (F16, BF16). parameter_count()
  // fits in int64 for every config that validate() accepts.
  const uint64_t parameters = static_cast<uint64_t>(config.parameter_count());
  if (parameters > file_bytes / 2)
    throw InputError(weights_path + ": " + std::to_string(file_bytes) + " bytes cannot hold the " +
                     std::to_string(parameters) + " parameters that " + config_source +
                     " implies (n_layer " + std::to_string(config.n_layer) + ", n_embd " +
                     std::to_string(config.n_embd) + ", vocab_size " +
                     std::to_string(config.vocab_size) + ", n_positions " +
                     std::to_string(config.n_ctx) + "; at least 2 bytes each)");
}

Weights<float> load_checkpoint(const std::string& dir) {
  const std::string config_path = (fs::path(dir) / "config.json").string();
  const std::string weights_path = (fs::path(dir) / "model.safetensors").string();
  if (path_kind(dir) != PathKind::directory)
    throw InputError(dir +
                     ": not a checkpoint directory (expected config.json and "
                     "model.safetensors inside)");
  const Config config = config_from_json(read_file(config_path, kMaxConfigBytes), config_path);
  // The config's sizes against the file's before anything is read or
  // allocated: a lying n_layer must not cost gigabytes first.
  check_weights_fit_file(config, config_path, regular_file_size(weights_path), weights_path);
  const SafetensorsFile file = SafetensorsFile::read(weights_path);

  // All parameter names carry the "transformer." prefix (GPT2LMHeadModel) or
  // none do (GPT2Model, and the published gpt2 checkpoint).
  const std::string kPrefix = "transformer.";
  size_t with_prefix = 0, parameters = 0;
  for (const TensorInfo& t : file.tensors()) {
    if (t.name == "lm_head.weight") continue;
    ++parameters;
    if (t.name.rfind(kPrefix, 0) == 0) ++with_prefix;
  }
  if (with_prefix != 0 && with_prefix != parameters)
    throw InputError(weights_path + ": tensor names mix the \"transformer.\" prefix (" +
                     std::to_string(with_prefix) + " tensors) and no prefix (" +
                     std::to_string(parameters - with_prefix) + " tensors)");
  const std::string prefix = with_prefix != 0 ? kPrefix : "";

  Weights<float> weights;
  weights.config = config;
  // Blocks for at most the tensors the file holds (12 per block): when the
  // config wants more, the loop below stops at the first missing tensor,
  // having allocated no more than the file can fill.
  weights.blocks.resize(std::min<size_t>(config.n_layer, parameters / 12 + 1));
  std::set<std::string> expected;
  for_each_tensor(weights,
                  [&](const std::string& name, std::vector<float>& tensor, const Shape& shape) {
                    const std::string key = prefix + name;
                    expected.insert(key);
                    const TensorInfo* info = file.find(key);
                    if (info == nullptr)
                      throw InputError(weights_path + ": missing tensor '" + key + "'");
                    if (info->shape != shape)
                      throw InputError(weights_path + ": tensor '" + key + "' has shape " +
                                       shape_text(info->shape) + ", expected " + shape_text(shape) +
                                       " for this config");
                    tensor = file.read_f32(key);
                    check_finite(tensor, weights_path, key);
                  });
  for (const TensorInfo& t : file.tensors()) {
    if (expected.count(t.name)) continue;
    const std::string bare = t.name.rfind(prefix, 0) == 0 ? t.name.substr(prefix.size()) : t.name;
    if (is_ignored_buffer(bare)) continue;
    if (t.name == "lm_head.weight") {
      // GPT-2 ties lm_head to wte; a checkpoint that stores it must agree.
      if (file.read_f32(t.name) != weights.wte)
        throw InputError(weights_path +
                         ": tensor 'lm_head.weight' differs from wte.weight; "
                         "GPT-2's lm_head is tied to wte");
      continue;
    }
    throw InputError(weights_path + ": unexpected tensor '" + t.name + "'");
  }
  GPT2_CHECK(weights.blocks.size() == static_cast<size_t>(config.n_layer),
             "a file with too few tensors for n_layer has one missing");
  return weights;
}

void validate_weights(const Weights<float>& weights, const std::string& source) {
  weights.config.validate(source);
  if (weights.blocks.size() != static_cast<size_t>(weights.config.n_layer))
    throw InputError(source + ": " + std::to_string(weights.blocks.size()) +
                     " blocks, config says n_layer = " + std::to_string(weights.config.n_layer));
  for_each_tensor(
      weights, [&](const std::string& name, const std::vector<float>& tensor, const Shape& shape) {
        if (static_cast<int64_t>(tensor.size()) != element_count(shape))
          throw InputError(source + ": tensor '" + name + "' has " + std::to_string(tensor.size()) +
                           " elements, expected " + shape_text(shape));
        check_finite(tensor, source, name);
      });
}

void write_checkpoint_files(const Weights<float>& weights, const std::string& dir) {
  write_file_atomic((fs::path(dir) / "config.json").string(), config_to_json(weights.config));
  std::vector<TensorToWrite> tensors;
  for_each_tensor(
      weights, [&](const std::string& name, const std::vector<float>& tensor, const Shape& shape) {
        TensorToWrite t;
        t.name = name;
        t.dtype = Dtype::F32;
        t.shape = shape;
        t.data_f32 = tensor.data();
        tensors.push_back(t);
      });
  // Hugging Face's loader requires {"format": "pt"} in the metadata.
  write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
}

void save_checkpoint(const Weights<float>& weights, const std::string& dir,
                     const std::vector<std::pair<std::string, std::string>>& other_files) {
  validate_weights(weights, "weights to save");
  if (path_kind(dir) != PathKind::missing || fs::is_symlink(fs::symlink_status(dir)))
    throw InputError(dir + ": already exists; choose a new directory");
  TemporaryDirectory temporary(dir);
  write_checkpoint_files(weights, temporary.path());
  for (const auto& [name, bytes] : other_files)
    write_file_atomic((fs::path(temporary.path()) / name).string(), bytes);
  temporary.commit();
}

const std::vector<Preset>& presets() {
  static const std::vector<Preset> kPresets = [] {
    auto make = [](const char* name, const char* description, int L, int NH, int C, int V, int P,
                   uint64_t seed) {
      Preset p;
      p.name = name;
      p.description = description;
      p.config = make_config(L, NH, C, P, V);
      p.seed = seed;
      return p;
    };
    return std::vector<Preset>{
        make("tiny", "2 layers, 2 heads, n_embd 16, vocab 64, context 32 (the default)", 2, 2, 16,
             64, 32, 0x7431),
        make("small", "4 layers, 4 heads, n_embd 64, vocab 512, context 128", 4, 4, 64, 512, 128,
             0x5311),
        make("gpt2-124m-shape",
             "GPT-2 124M shape (12 layers, 12 heads, n_embd 768, vocab 50257, context 1024), "
             "random weights, for performance work",
             12, 12, 768, 50257, 1024, 0x124),
        // The other GPT-2 sizes, for measuring the oracle at scale (memory,
        // time, the conformance plan): their weights are generated in place,
        // 4 bytes per parameter (XL: 1.56e9 parameters, 6.2 GB).
        make("gpt2-medium-shape",
             "GPT-2 medium (355M) shape (24 layers, 16 heads, n_embd 1024, vocab 50257, context "
             "1024), random weights",
             24, 16, 1024, 50257, 1024, 0x355),
        make("gpt2-large-shape",
             "GPT-2 large (774M) shape (36 layers, 20 heads, n_embd 1280, vocab 50257, context "
             "1024), random weights",
             36, 20, 1280, 50257, 1024, 0x774),
        make("gpt2-xl-shape",
             "GPT-2 XL (1.5B) shape (48 layers, 25 heads, n_embd 1600, vocab 50257, context "
             "1024), random weights",
             48, 25, 1600, 50257, 1024, 0x1558),
    };
  }();
  return kPresets;
}

const Preset& find_preset(const std::string& name) {
  std::string known;
  for (const Preset& p : presets()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw InputError("--model: unknown preset '" + name + "' (known: " + known + ")");
}

Weights<float> preset_weights(const std::string& name) {
  const Preset& p = find_preset(name);
  return seeded_weights(p.config, p.seed);
}

Weights<float> with_gpt2_activations(Weights<float> weights) {
  const int C = weights.config.n_embd;
  for (auto& b : weights.blocks) {
    // c_attn [C, 3C]: columns 0..2C are the queries and keys.
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < 2 * C; ++j)
        b.attn_c_attn_weight[size_t(i) * 3 * C + j] *= kGpt2QueryKeyScale;
    for (int j = 0; j < 2 * C; ++j) b.attn_c_attn_bias[j] *= kGpt2QueryKeyScale;
    for (float& x : b.mlp_c_fc_weight) x *= kGpt2MlpScale;
    for (float& x : b.mlp_c_fc_bias) x *= kGpt2MlpScale;
  }
  return weights;
}

std::string weights_sha256(const Weights<float>& weights) {
  static_assert(std::numeric_limits<float>::is_iec559, "float32 bytes are IEEE's");
  Sha256 sha;
  sha.update(config_to_json(weights.config));
  for_each_tensor(weights,
                  [&](const std::string& name, const std::vector<float>& t, const Shape& shape) {
                    sha.update("\n" + name + " " + shape_text(shape) + "\n");
                    // Little-endian on every platform this builds for (x86-64, AArch64).
                    sha.update(t.data(), t.size() * sizeof(float));
                  });
  return sha.hex();
}

Weights<float> seeded_weights(const Config& config, uint64_t seed) {
  config.validate("seeded weights");
  Weights<float> w = zero_weights<float>(config);
  // GPT-2-like scales: N(0, 0.02) for matrices and embeddings (N(0, 0.01) for
  // positions, as in GPT-2's initialisation), LayerNorm gains 1 + N(0, 0.02).
  // Biases are drawn too (N(0, 0.02)), not zero as at GPT-2's initialisation,
  // so that a forgotten bias is visible to the oracle.
  uint64_t stream = 0;
  for_each_tensor(w, [&](const std::string& name, std::vector<float>& t, const Shape&) {
    const bool is_gain =
        name.find("ln_") != std::string::npos && name.compare(name.size() - 7, 7, ".weight") == 0;
    const double mean = is_gain ? 1.0 : 0.0;
    const double stddev = name == "wpe.weight" ? 0.01 : 0.02;
    fill_normal(t, seed, stream++, mean, stddev);
  });
  return w;
}

}  // namespace gpt2
