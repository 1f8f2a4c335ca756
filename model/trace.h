// Trace: the named tensors every implementation produces for T tokens (the
// DESIGN contract): "embed" [T, C] (wte + wpe), "block.{l}" [T, C] (residual
// stream after block l), "ln_f" [T, C] and "logits" [T, V].
#pragma once

#include <string>
#include <vector>

#include "model/weights.h"

namespace gpt2 {

template <class T>
struct Trace {
  int n_tokens = 0;    // T
  int n_embd = 0;      // C
  int vocab_size = 0;  // V
  std::vector<T> embed;               // [T, C]
  std::vector<std::vector<T>> block;  // L x [T, C]
  std::vector<T> ln_f;                // [T, C]
  std::vector<T> logits;              // [T, V]

  int n_layer() const { return static_cast<int>(block.size()); }
};

// A Trace of the right shapes, zero-filled.
template <class T>
Trace<T> make_trace(const Config& config, int n_tokens) {
  Trace<T> t;
  t.n_tokens = n_tokens;
  t.n_embd = config.n_embd;
  t.vocab_size = config.vocab_size;
  const size_t tc = static_cast<size_t>(n_tokens) * config.n_embd;
  t.embed.assign(tc, T(0));
  t.block.assign(config.n_layer, std::vector<T>(tc, T(0)));
  t.ln_f.assign(tc, T(0));
  t.logits.assign(static_cast<size_t>(n_tokens) * config.vocab_size, T(0));
  return t;
}

// Calls f(name, tensor, shape) for every tensor in forward order: embed,
// block.0 .. block.{L-1}, ln_f, logits.
template <class Tr, class F>
void for_each_trace_tensor(Tr& trace, F&& f) {
  const int64_t T = trace.n_tokens, C = trace.n_embd, V = trace.vocab_size;
  f(std::string("embed"), trace.embed, Shape{T, C});
  for (size_t l = 0; l < trace.block.size(); ++l)
    f("block." + std::to_string(l), trace.block[l], Shape{T, C});
  f(std::string("ln_f"), trace.ln_f, Shape{T, C});
  f(std::string("logits"), trace.logits, Shape{T, V});
}

// Element-wise static_cast of every tensor (e.g. a 50-digit trace to double).
template <class To, class From>
Trace<To> convert_trace(const Trace<From>& from) {
  Trace<To> to;
  to.n_tokens = from.n_tokens;
  to.n_embd = from.n_embd;
  to.vocab_size = from.vocab_size;
  auto conv = [](const std::vector<From>& s) {
    std::vector<To> d(s.size());
    for (size_t i = 0; i < s.size(); ++i) d[i] = static_cast<To>(s[i]);
    return d;
  };
  to.embed = conv(from.embed);
  for (const auto& b : from.block) to.block.push_back(conv(b));
  to.ln_f = conv(from.ln_f);
  to.logits = conv(from.logits);
  return to;
}

enum class TraceDtype { F32, F64 };

// Writes the trace as safetensors (atomically: temporary file, then rename),
// tensors named as above; metadata is stored in __metadata__.
void write_trace(const std::string& path, const Trace<double>& trace, TraceDtype dtype,
                 const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Reads a trace written by write_trace or by any other runtime: F32 or F64
// tensors named as above, all of them, with consistent shapes. Throws
// InputError naming the file and the tensor otherwise.
Trace<double> read_trace(const std::string& path);

}  // namespace gpt2
