// Precision profiles: the points where an engine rounds to a short format,
// and to which format. An engine that keeps its KV cache in f16, or whose
// GELU is an f16 table, does not compute GPT-2 in float32; a profile says
// what it computes instead, so that the oracle can judge it on its own
// arithmetic: the truth and the baseline apply the same roundings at the same
// points (oracle/, reference/). Accumulation stays float32 in every profile.
//
// The rounding points, in the order of a forward pass:
//   weights           the projections' matrices and the embeddings (wte, so
//                     also the tied lm_head, and wpe)
//   norms_and_biases  the LayerNorms' gains and biases and the projections' biases
//   residual          the residual stream as it is kept: embed, mid and block.{l}
//   matmul_inputs     the activation operand of every projection and of lm_head
//   kv_cache          keys and values as the cache stores them
//   attention_probs   the softmax's output, before it multiplies V
//   gelu              "formula" (GPT-2's tanh form in float32) or "table_f16":
//                     the input rounded to f16, the output the f16 value of
//                     the float32 formula, with the clamps of ggml's table
//                     (x <= -10 gives 0, x >= 10 gives x)
//
// Built-in profiles (builtin_profiles()): f32 (today's float32 engines),
// bf16-weights (the `bf16` kernel set), f16-kv, bf16-autocast (bf16 weights
// and matmul inputs, as PyTorch's autocast), f16-gelu-table (ggml's CPU
// GELU), ggml-f16 (f16 weights and matmul inputs and the f16 GELU table). A
// profile can also be a JSON file:
//
//   {"name": "my-engine", "description": "f16 cache, bf16 weights",
//    "weights": "bf16", "kv_cache": "f16"}
//
// with "name" required, "description" optional, each rounding point optional
// (default "f32"; "gelu" default "formula"), and nothing else.
#pragma once

#include <string>
#include <vector>

#include "model/float_formats.h"
#include "model/weights.h"

namespace gpt2 {

enum class GeluForm { formula, table_f16 };

// ggml's f16 GELU table covers (-10, 10); outside, GELU is 0 or x.
inline constexpr float kGeluTableLow = -10.0f;
inline constexpr float kGeluTableHigh = 10.0f;

struct Profile {
  std::string name;         // "f32", "f16-kv", or a file's "name"
  std::string description;  // one line
  FloatFormat weights = FloatFormat::f32;
  FloatFormat norms_and_biases = FloatFormat::f32;
  FloatFormat residual = FloatFormat::f32;
  FloatFormat matmul_inputs = FloatFormat::f32;
  FloatFormat kv_cache = FloatFormat::f32;
  FloatFormat attention_probs = FloatFormat::f32;
  GeluForm gelu = GeluForm::formula;

  // No rounding point: float32 throughout.
  bool is_f32() const;
  // A point other than weights and norms_and_biases rounds: the arithmetic
  // itself is not float32's (a profile that rounds only weights is float32
  // arithmetic on rounded weights).
  bool rounds_arithmetic() const;
  // "weights bf16, matmul inputs bf16" (the points that round), or "float32 throughout".
  std::string roundings() const;
  bool operator==(const Profile&) const = default;
};

const char* gelu_form_name(GeluForm form);  // "formula", "table_f16"

// The built-in profiles, f32 first.
const std::vector<Profile>& builtin_profiles();
// A built-in profile by name; InputError "unknown profile 'x' (known: ...)".
const Profile& find_profile(const std::string& name);

// A profile from JSON text (strict: see above); InputError naming `source`
// and the field otherwise.
Profile profile_from_json(const std::string& text, const std::string& source);
// `name_or_file`: a built-in name, or a path to a profile JSON file (a name
// with a '/' or ending in .json is read as a file).
Profile load_profile(const std::string& name_or_file);
// The JSON form (every key, in the order above).
std::string profile_to_json(const Profile& profile);

// The weights an engine under `profile` computes with: every value of the
// `weights` point's tensors (wte, wpe and the four projection matrices of
// each block: c_attn, attn c_proj, c_fc, mlp c_proj) rounded once to its
// format, and every value of the `norms_and_biases` point's (ln_1, ln_2,
// ln_f gains and biases, the four projection biases) to its own; nearest,
// ties to even, as the format stores it (NaN stays NaN, quiet) and widened
// back, so each value is a float exactly representable in the format. A
// point at f32 leaves its tensors as they are. The truth under a profile is
// the reference run on these weights (reference/reference.h, Options::profile:
// the reference rounds activations only).
Weights<float> round_weights(const Weights<float>& weights, const Profile& profile);
// The same, rounding `weights` in place and moving it out (no second copy of
// a large model).
Weights<float> round_weights(Weights<float>&& weights, const Profile& profile);

}  // namespace gpt2
