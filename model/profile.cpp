#include "model/profile.h"

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "model/error.h"
#include "model/files.h"
#include "model/json_strict.h"

namespace gpt2 {

bool Profile::is_f32() const {
  return weights == FloatFormat::f32 && norms_and_biases == FloatFormat::f32 &&
         residual == FloatFormat::f32 && matmul_inputs == FloatFormat::f32 &&
         kv_cache == FloatFormat::f32 && attention_probs == FloatFormat::f32 &&
         gelu == GeluForm::formula;
}

bool Profile::rounds_arithmetic() const {
  Profile arithmetic = *this;
  arithmetic.weights = arithmetic.norms_and_biases = FloatFormat::f32;
  return !arithmetic.is_f32();
}

std::string Profile::roundings() const {
  std::string out;
  auto add = [&](const char* point, FloatFormat f) {
    if (f != FloatFormat::f32)
      out += (out.empty() ? "" : ", ") + std::string(point) + " " + float_format_name(f);
  };
  add("weights", weights);
  add("norms and biases", norms_and_biases);
  add("residual", residual);
  add("matmul inputs", matmul_inputs);
  add("KV cache", kv_cache);
  add("attention probabilities", attention_probs);
  if (gelu == GeluForm::table_f16) out += (out.empty() ? "" : ", ") + std::string("GELU f16 table");
  return out.empty() ? "float32 throughout" : out;
}

const char* gelu_form_name(GeluForm form) {
  return form == GeluForm::table_f16 ? "table_f16" : "formula";
}

const std::vector<Profile>& builtin_profiles() {
  using F = FloatFormat;
  static const std::vector<Profile> kProfiles = [] {
    std::vector<Profile> p(6);
    p[0].name = "f32";
    p[0].description = "float32 throughout (the default)";
    p[1].name = "bf16-weights";
    p[1].description = "every weight rounded to bfloat16, float32 arithmetic (the bf16 set)";
    p[1].weights = p[1].norms_and_biases = F::bf16;
    p[2].name = "f16-kv";
    p[2].description = "keys and values stored in IEEE half (llama.cpp's, vLLM's f16 cache)";
    p[2].kv_cache = F::f16;
    p[3].name = "bf16-autocast";
    p[3].description =
        "bfloat16 weights and matmul inputs, float32 accumulation (PyTorch autocast)";
    p[3].weights = p[3].matmul_inputs = F::bf16;
    p[4].name = "f16-gelu-table";
    p[4].description = "GELU from an f16 lookup table (ggml's CPU GELU)";
    p[4].gelu = GeluForm::table_f16;
    p[5].name = "ggml-f16";
    p[5].description = "f16 weights and matmul inputs and the f16 GELU table (ggml's f16 models)";
    p[5].weights = p[5].matmul_inputs = F::f16;
    p[5].gelu = GeluForm::table_f16;
    for (auto& profile : p) profile.description += "; " + profile.roundings();
    p[0].description = "float32 throughout (the default)";
    return p;
  }();
  return kProfiles;
}

const Profile& find_profile(const std::string& name) {
  std::string known;
  for (const Profile& p : builtin_profiles()) {
    if (p.name == name) return p;
    known += (known.empty() ? "" : ", ") + p.name;
  }
  throw InputError("unknown profile " + quote_for_message(name) + " (known: " + known +
                   "; or a profile JSON file)");
}

namespace {

struct Point {
  const char* key;
  FloatFormat Profile::*member;
};
constexpr Point kPoints[] = {
    {"weights", &Profile::weights},   {"norms_and_biases", &Profile::norms_and_biases},
    {"residual", &Profile::residual}, {"matmul_inputs", &Profile::matmul_inputs},
    {"kv_cache", &Profile::kv_cache}, {"attention_probs", &Profile::attention_probs}};

}  // namespace

Profile profile_from_json(const std::string& text, const std::string& source) {
  const nlohmann::json j = parse_strict_json(text, source);
  if (!j.is_object()) throw InputError(source + ": expected a JSON object");
  std::set<std::string> known = {"name", "description", "gelu"};
  for (const Point& p : kPoints) known.insert(p.key);
  for (const auto& [key, value] : j.items())
    if (!known.count(key))
      throw InputError(source + ": unknown key " + quote_for_message(key) +
                       " (a profile has name, description, weights, norms_and_biases, residual, "
                       "matmul_inputs, kv_cache, attention_probs, gelu)");
  Profile p;
  p.name = require_string(j, "name", source);
  if (p.name.empty() || p.name.find_first_of(" \t\n/") != std::string::npos)
    throw InputError(source + ": \"name\" must be a non-empty word (no spaces or '/'), found " +
                     quote_for_message(p.name));
  if (j.contains("description")) p.description = require_string(j, "description", source);
  for (const Point& point : kPoints)
    if (j.contains(point.key))
      p.*point.member = parse_float_format(require_string(j, point.key, source),
                                           source + ": \"" + point.key + "\"");
  if (j.contains("gelu")) {
    const std::string gelu = require_string(j, "gelu", source);
    if (gelu == "formula")
      p.gelu = GeluForm::formula;
    else if (gelu == "table_f16")
      p.gelu = GeluForm::table_f16;
    else
      throw InputError(source + ": \"gelu\": expected \"formula\" or \"table_f16\", found " +
                       quote_for_message(gelu));
  }
  if (p.description.empty()) p.description = p.roundings();
  return p;
}

Profile load_profile(const std::string& name_or_file) {
  const bool is_file =
      name_or_file.find('/') != std::string::npos ||
      (name_or_file.size() > 5 && name_or_file.compare(name_or_file.size() - 5, 5, ".json") == 0);
  if (!is_file) return find_profile(name_or_file);
  return profile_from_json(read_file(name_or_file, 1 << 20), name_or_file);
}

std::string profile_to_json(const Profile& p) {
  nlohmann::ordered_json j;
  j["name"] = p.name;
  j["description"] = p.description;
  for (const Point& point : kPoints) j[point.key] = float_format_name(p.*point.member);
  j["gelu"] = gelu_form_name(p.gelu);
  return j.dump(2) + "\n";
}

namespace {

void round_tensor(std::vector<float>& t, FloatFormat format) {
  round_in_place(format, t.data(), t.size());
}

}  // namespace

Weights<float> round_weights(Weights<float>&& weights, const Profile& profile) {
  // The `weights` point: the embeddings (wte is also the tied lm_head) and the matrices.
  round_tensor(weights.wte, profile.weights);
  round_tensor(weights.wpe, profile.weights);
  for (BlockWeights<float>& b : weights.blocks) {
    for (std::vector<float>* matrix :
         {&b.attn_c_attn_weight, &b.attn_c_proj_weight, &b.mlp_c_fc_weight, &b.mlp_c_proj_weight})
      round_tensor(*matrix, profile.weights);
    // The `norms_and_biases` point: LayerNorm gains and biases, projection biases.
    for (std::vector<float>* vector :
         {&b.ln_1_weight, &b.ln_1_bias, &b.ln_2_weight, &b.ln_2_bias, &b.attn_c_attn_bias,
          &b.attn_c_proj_bias, &b.mlp_c_fc_bias, &b.mlp_c_proj_bias})
      round_tensor(*vector, profile.norms_and_biases);
  }
  round_tensor(weights.ln_f_weight, profile.norms_and_biases);
  round_tensor(weights.ln_f_bias, profile.norms_and_biases);
  return std::move(weights);
}

Weights<float> round_weights(const Weights<float>& weights, const Profile& profile) {
  return round_weights(Weights<float>(weights), profile);
}

}  // namespace gpt2
