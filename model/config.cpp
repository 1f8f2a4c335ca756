#include "model/config.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/json_strict.h"

namespace gpt2 {

bool is_gelu_tanh_activation(const std::string& name) {
  return name == "gelu_new" || name == "gelu_pytorch_tanh";
}

void Config::validate(const std::string& source) const {
  auto positive = [&](const char* key, int value) {
    if (value <= 0)
      throw InputError(source + ": " + key + " must be positive, found " + std::to_string(value));
  };
  positive("n_layer", n_layer);
  positive("n_head", n_head);
  positive("n_embd", n_embd);
  positive("n_positions", n_ctx);
  positive("vocab_size", vocab_size);
  if (n_embd % n_head != 0)
    throw InputError(source + ": n_embd (" + std::to_string(n_embd) +
                     ") is not divisible by n_head (" + std::to_string(n_head) + ")");
  if (!std::isfinite(layer_norm_epsilon) || layer_norm_epsilon <= 0)
    throw InputError(source + ": layer_norm_epsilon must be a positive finite number, found " +
                     std::to_string(layer_norm_epsilon));
  if (!is_gelu_tanh_activation(activation))
    throw InputError(source + ": activation_function \"" + activation +
                     "\" is not supported (GPT-2 uses the tanh GELU: \"gelu_new\" or "
                     "\"gelu_pytorch_tanh\")");
  // Keep every tensor's element count, and 4·C, comfortably inside int64 and
  // int: 2^31 elements per tensor is far beyond any GPT-2.
  const int64_t largest =
      std::max<int64_t>(int64_t{vocab_size} * n_embd,
                        std::max<int64_t>(int64_t{n_ctx} * n_embd, int64_t{4} * n_embd * n_embd));
  if (largest > (int64_t{1} << 31))
    throw InputError(source + ": model too large (a tensor would hold " + std::to_string(largest) +
                     " elements)");
}

Config make_config(int n_layer, int n_head, int n_embd, int n_ctx, int vocab_size) {
  Config c;
  c.n_layer = n_layer;
  c.n_head = n_head;
  c.n_embd = n_embd;
  c.n_ctx = n_ctx;
  c.vocab_size = vocab_size;
  return c;
}

int64_t Config::parameter_count() const {
  const int64_t C = n_embd;
  const int64_t per_block = 2 * C                // ln_1
                            + C * 3 * C + 3 * C  // attn.c_attn
                            + C * C + C          // attn.c_proj
                            + 2 * C              // ln_2
                            + C * 4 * C + 4 * C  // mlp.c_fc
                            + 4 * C * C + C;     // mlp.c_proj
  return int64_t{vocab_size} * C + int64_t{n_ctx} * C + n_layer * per_block + 2 * C;
}

namespace {
int require_size(const nlohmann::json& j, const std::string& key, const std::string& source) {
  const int64_t v = require_int(j, key, source);
  if (v <= 0 || v > (int64_t{1} << 30))
    throw InputError(source + ": \"" + key + "\" must be a positive integer, found " +
                     std::to_string(v));
  return static_cast<int>(v);
}
}  // namespace

Config config_from_json(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_strict_json(text, source);
  if (!j.is_object()) throw InputError(source + ": expected a JSON object");
  Config c;
  c.n_layer = require_size(j, "n_layer", source);
  c.n_head = require_size(j, "n_head", source);
  c.n_embd = require_size(j, "n_embd", source);
  c.n_ctx = require_size(j, "n_positions", source);
  c.vocab_size = require_size(j, "vocab_size", source);
  c.layer_norm_epsilon = require_number(j, "layer_norm_epsilon", source);
  c.activation = require_string(j, "activation_function", source);
  // Settings of Hugging Face's GPT2Config that would change the mathematics
  // the reference implements: refuse them rather than compute something else.
  if (auto it = j.find("n_inner"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() != int64_t{4} * c.n_embd)
      throw InputError(source + ": \"n_inner\" must be null or 4·n_embd (" +
                       std::to_string(4 * int64_t{c.n_embd}) + "), found " + it->dump());
  }
  auto require_flag = [&](const char* key, bool expected) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_boolean() || it->get<bool>() != expected)
      throw InputError(source + ": \"" + key + "\" must be " + (expected ? "true" : "false") +
                       " for GPT-2, found " + it->dump());
  };
  require_flag("scale_attn_weights", true);
  require_flag("scale_attn_by_inverse_layer_idx", false);
  if (auto it = j.find("n_ctx");
      it != j.end() && it->is_number_integer() && it->get<int64_t>() != c.n_ctx)
    throw InputError(source + ": \"n_ctx\" (" + it->dump() + ") disagrees with \"n_positions\" (" +
                     std::to_string(c.n_ctx) + ")");
  c.validate(source);
  return c;
}

std::string config_to_json(const Config& c) {
  // nlohmann::ordered_json keeps this insertion order; the epsilon is written
  // with the shortest representation that reads back to the same double.
  nlohmann::ordered_json j;
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  j["activation_function"] = c.activation;
  j["layer_norm_epsilon"] = c.layer_norm_epsilon;
  j["n_ctx"] = c.n_ctx;
  j["n_embd"] = c.n_embd;
  j["n_head"] = c.n_head;
  j["n_inner"] = nullptr;
  j["n_layer"] = c.n_layer;
  j["n_positions"] = c.n_ctx;
  j["vocab_size"] = c.vocab_size;
  j["tie_word_embeddings"] = true;
  j["scale_attn_weights"] = true;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

}  // namespace gpt2
