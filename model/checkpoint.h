// Hugging Face GPT-2 checkpoint directories and built-in presets.
#pragma once

#include <string>
#include <vector>

#include "model/weights.h"

namespace gpt2 {

// Largest config.json read (a real one is under a kilobyte).
inline constexpr uint64_t kMaxConfigBytes = 1ull << 20;

// Reads DIR/config.json and DIR/model.safetensors. Tensor names may carry a
// "transformer." prefix (all or none); the buffers "h.{i}.attn.bias" and
// "h.{i}.attn.masked_bias" are ignored; "lm_head.weight" is accepted only if
// it equals wte (tied). F32, F16 and BF16 (and F64) tensors are converted to
// float. A missing tensor, an unexpected tensor, a wrong shape, or a NaN or
// Inf element is an InputError naming the file and the tensor; so is a
// weights file too small for the config's sizes (checked before anything is
// allocated), one that is not a regular file, or one over kMaxInputFileBytes.
Weights<float> load_checkpoint(const std::string& dir);

// Throws InputError naming `weights_path` when a file of `file_bytes` cannot
// hold the parameters `config` implies at 2 bytes each (the narrowest dtype):
// the check that comes before any allocation sized by the config.
void check_weights_fit_file(const Config& config, const std::string& config_source,
                            uint64_t file_bytes, const std::string& weights_path);

// Throws InputError naming `source` and the tensor when any element of
// `weights` is NaN or Inf, or a tensor's size disagrees with the config.
void validate_weights(const Weights<float>& weights, const std::string& source);

// Writes DIR/config.json and DIR/model.safetensors (F32, names without
// prefix, as GPT2Model.save_pretrained writes them) into a temporary
// directory beside DIR, then renames it onto DIR (model/files.h). DIR must
// not exist. `other_files` (name -> bytes: a tokenizer's vocab.json and
// merges.txt) go into the directory too, before the rename.
void save_checkpoint(const Weights<float>& weights, const std::string& dir,
                     const std::vector<std::pair<std::string, std::string>>& other_files = {});

// The two files of a checkpoint, written into the existing directory `dir`
// (save_checkpoint's inner step; fixtures embed weights with it too).
void write_checkpoint_files(const Weights<float>& weights, const std::string& dir);

// Built-in models, generated from a seed with the same bits on every
// platform: "tiny" (default), "small", and GPT-2's four sizes with random
// weights: "gpt2-124m-shape", "gpt2-medium-shape", "gpt2-large-shape",
// "gpt2-xl-shape".
struct Preset {
  std::string name;
  std::string description;
  Config config;
  uint64_t seed = 0;
};
const std::vector<Preset>& presets();
const Preset& find_preset(const std::string& name);  // InputError if unknown
Weights<float> preset_weights(const std::string& name);

// The weights with GPT-2's activation scales. A preset's N(0, 0.02) weights
// give MLP pre-activations of order 0.1 and attention scores of order 0.01,
// where GPT-2 124M's MLP inputs are of order 1-10 and its scores of order 1.
// Scaling c_fc by 2^5 and c_attn's query and key columns by 2^3 each (the
// scores by 2^6) brings tiny there: MLP pre-activations of standard
// deviation ~2.5, scores ~0.4 (heads between uniform and peaked). Powers of
// two, so the scaling is exact. Bugs that only show at those scales (the erf
// GELU, an approximate exp) then show on a preset too (`--activations gpt2`).
inline constexpr float kGpt2QueryKeyScale = 8.0f;
inline constexpr float kGpt2MlpScale = 32.0f;
Weights<float> with_gpt2_activations(Weights<float> weights);

// SHA-256 of what the weights compute: the config (its config.json text) and
// every tensor's name, shape and float32 bytes, in forward order. Equal for
// a preset and its exported checkpoint; the truth cache's key of a model
// (oracle/truth_cache.h). About a second per GB.
std::string weights_sha256(const Weights<float>& weights);

// Weights from the seeded generator (see init.h) for any config.
Weights<float> seeded_weights(const Config& config, uint64_t seed);

}  // namespace gpt2
