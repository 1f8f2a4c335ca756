// GPT-2 weights at any scalar type, and the shape legend of the project.
//
// Shape legend (used in every comment of gpt2-oracle):
//   L  blocks (n_layer)          T  tokens in the sequence
//   C  channels (n_embd)         V  vocabulary (vocab_size)
//   P  positions (n_ctx)         NH heads (n_head),  HS head size = C / NH
// Every tensor is a flat row-major std::vector; "[A, B]" means element (i, j)
// sits at index i·B + j.
//
// Conv1D layout, as in GPT-2 and Hugging Face: a projection is y = x·W + b
// with W stored [in, out] (not transposed as in torch.nn.Linear).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"

namespace gpt2 {

template <class T>
struct BlockWeights {
  std::vector<T> ln_1_weight;         // [C]
  std::vector<T> ln_1_bias;           // [C]
  std::vector<T> attn_c_attn_weight;  // [C, 3C]  columns: q (C), k (C), v (C)
  std::vector<T> attn_c_attn_bias;    // [3C]
  std::vector<T> attn_c_proj_weight;  // [C, C]
  std::vector<T> attn_c_proj_bias;    // [C]
  std::vector<T> ln_2_weight;         // [C]
  std::vector<T> ln_2_bias;           // [C]
  std::vector<T> mlp_c_fc_weight;     // [C, 4C]
  std::vector<T> mlp_c_fc_bias;       // [4C]
  std::vector<T> mlp_c_proj_weight;   // [4C, C]
  std::vector<T> mlp_c_proj_bias;     // [C]
};

template <class T>
struct Weights {
  Config config;
  std::vector<T> wte;                   // [V, C]  token embedding, also the (tied) lm_head
  std::vector<T> wpe;                   // [P, C]  position embedding
  std::vector<BlockWeights<T>> blocks;  // L of them
  std::vector<T> ln_f_weight;           // [C]
  std::vector<T> ln_f_bias;             // [C]
};

// The shape of a tensor, outermost dimension first.
using Shape = std::vector<int64_t>;

inline int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// "[4, 16]": a shape in messages and reports.
inline std::string shape_text(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Calls f(name, tensor, shape) for every tensor of `weights`, in the order of
// a GPT-2 forward pass, with the Hugging Face names without the
// "transformer." prefix ("wte.weight", "h.0.ln_1.weight", ...). Works on const
// and non-const weights; the shapes come from the config, so f may resize.
template <class W, class F>
void for_each_tensor(W& weights, F&& f) {
  const Config& c = weights.config;
  const int64_t C = c.n_embd, V = c.vocab_size, P = c.n_ctx;
  f(std::string("wte.weight"), weights.wte, Shape{V, C});
  f(std::string("wpe.weight"), weights.wpe, Shape{P, C});
  for (size_t l = 0; l < weights.blocks.size(); ++l) {
    auto& b = weights.blocks[l];
    const std::string h = "h." + std::to_string(l) + ".";
    f(h + "ln_1.weight", b.ln_1_weight, Shape{C});
    f(h + "ln_1.bias", b.ln_1_bias, Shape{C});
    f(h + "attn.c_attn.weight", b.attn_c_attn_weight, Shape{C, 3 * C});
    f(h + "attn.c_attn.bias", b.attn_c_attn_bias, Shape{3 * C});
    f(h + "attn.c_proj.weight", b.attn_c_proj_weight, Shape{C, C});
    f(h + "attn.c_proj.bias", b.attn_c_proj_bias, Shape{C});
    f(h + "ln_2.weight", b.ln_2_weight, Shape{C});
    f(h + "ln_2.bias", b.ln_2_bias, Shape{C});
    f(h + "mlp.c_fc.weight", b.mlp_c_fc_weight, Shape{C, 4 * C});
    f(h + "mlp.c_fc.bias", b.mlp_c_fc_bias, Shape{4 * C});
    f(h + "mlp.c_proj.weight", b.mlp_c_proj_weight, Shape{4 * C, C});
    f(h + "mlp.c_proj.bias", b.mlp_c_proj_bias, Shape{C});
  }
  f(std::string("ln_f.weight"), weights.ln_f_weight, Shape{C});
  f(std::string("ln_f.bias"), weights.ln_f_bias, Shape{C});
}

// Weights with every tensor allocated to its shape and zero-filled.
template <class T>
Weights<T> zero_weights(const Config& config) {
  Weights<T> w;
  w.config = config;
  w.blocks.resize(config.n_layer);
  for_each_tensor(w, [](const std::string&, std::vector<T>& t, const Shape& s) {
    t.assign(static_cast<size_t>(element_count(s)), T(0));
  });
  return w;
}

// Weights<From> -> Weights<To>, element by element with static_cast (for a
// multiprecision To, the conversion from float or double is exact).
template <class To, class From>
Weights<To> convert_weights(const Weights<From>& from) {
  Weights<To> to;
  to.config = from.config;
  to.blocks.resize(from.blocks.size());
  // Walk both in the same fixed order.
  std::vector<const std::vector<From>*> sources;
  for_each_tensor(from, [&](const std::string&, const std::vector<From>& t, const Shape&) {
    sources.push_back(&t);
  });
  size_t i = 0;
  for_each_tensor(to, [&](const std::string&, std::vector<To>& t, const Shape&) {
    const std::vector<From>& s = *sources[i++];
    t.resize(s.size());
    for (size_t j = 0; j < s.size(); ++j) t[j] = static_cast<To>(s[j]);
  });
  return to;
}

}  // namespace gpt2
