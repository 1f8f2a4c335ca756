// The GPT-2 hyper-parameters, as in a Hugging Face GPT-2 config.json.
#pragma once

#include <cstdint>
#include <string>

namespace gpt2 {

struct Config {
  int n_layer = 0;     // L, transformer blocks
  int n_head = 0;      // NH, attention heads per block
  int n_embd = 0;      // C, channels of the residual stream
  int n_ctx = 0;       // P, positions (config.json: n_positions)
  int vocab_size = 0;  // V, tokens
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";  // config.json: activation_function

  int head_size() const { return n_embd / n_head; }  // HS = C / NH

  // Throws InputError (naming `source`, e.g. a config.json path) when a size
  // is not positive, n_embd is not divisible by n_head, the epsilon is not a
  // positive finite number or the activation is not GPT-2's tanh GELU.
  void validate(const std::string& source = "config") const;

  // Number of parameters (wte, wpe and all blocks; lm_head is tied to wte).
  int64_t parameter_count() const;

  bool operator==(const Config&) const = default;
};

// A Config of the given shape, the other fields at their GPT-2 defaults. The
// arguments follow the fields' order: layers, heads, channels, positions,
// vocabulary.
Config make_config(int n_layer, int n_head, int n_embd, int n_ctx, int vocab_size);

// Activation names accepted for GPT-2's tanh-form GELU
// 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))): Hugging Face's "gelu_new"
// (the GPT-2 default) and "gelu_pytorch_tanh" (the same formula in PyTorch).
// "gelu" (the erf form) and "gelu_fast" (a truncated constant) are different
// functions and are rejected.
bool is_gelu_tanh_activation(const std::string& name);

// Parses a Hugging Face GPT-2 config.json (strict JSON, duplicate keys are an
// error). Requires n_layer, n_head, n_embd, n_positions, vocab_size,
// layer_norm_epsilon and activation_function; rejects settings that change the
// mathematics (n_inner other than 4·n_embd, scale_attn_weights false,
// scale_attn_by_inverse_layer_idx true). Other keys are ignored. Validates.
Config config_from_json(const std::string& text, const std::string& source);

// A config.json that config_from_json and Hugging Face's GPT2Config read.
// Byte-stable: fixed key order and number formatting.
std::string config_to_json(const Config& config);

}  // namespace gpt2
