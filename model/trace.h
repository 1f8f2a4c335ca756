// Trace: the named tensors every implementation produces for T tokens (the
// trace contract, docs/architecture.md), in forward order:
//
//   embed              [T, C]   wte[token] + wpe[position]
//   per block l (op level only, TraceLevel::ops):
//     block.{l}.ln_1   [T, C]   ln_1(x_in), x_in = embed or block.{l-1}
//     block.{l}.qkv    [T, 3C]  ln_1 · W_attn + b_attn  (q | k | v)
//     block.{l}.attn   [T, C]   softmax(q·kᵀ / sqrt(HS), masked) · v, heads merged
//     block.{l}.mid    [T, C]   x_in + attn · W_proj + b_proj (residual after attention)
//     block.{l}.ln_2   [T, C]   ln_2(mid)
//     block.{l}.gelu   [T, 4C]  gelu_new(ln_2 · W_fc + b_fc)
//   block.{l}          [T, C]   mid + gelu · W_mlp_proj + b_mlp_proj (residual after block l)
//   ln_f               [T, C]
//   logits             [T, V]
//
// A block-level trace (TraceLevel::blocks) carries embed, block.{l}, ln_f and
// logits; an op-level trace adds the six tensors inside every block.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/weights.h"

namespace gpt2 {

enum class TraceLevel { blocks, ops };
const char* trace_level_name(TraceLevel level);         // "blocks", "ops"
TraceLevel parse_trace_level(const std::string& text);  // InputError otherwise

// The tensors inside block l, in forward order (see the legend above).
template <class T>
struct BlockOps {
  std::vector<T> ln_1;  // [T, C]
  std::vector<T> qkv;   // [T, 3C]
  std::vector<T> attn;  // [T, C]
  std::vector<T> mid;   // [T, C]
  std::vector<T> ln_2;  // [T, C]
  std::vector<T> gelu;  // [T, 4C]
};

template <class T>
struct Trace {
  int n_tokens = 0;                   // T
  int n_embd = 0;                     // C
  int vocab_size = 0;                 // V
  std::vector<T> embed;               // [T, C]
  std::vector<BlockOps<T>> ops;       // L entries at TraceLevel::ops, empty at blocks
  std::vector<std::vector<T>> block;  // L x [T, C]
  std::vector<T> ln_f;                // [T, C]
  std::vector<T> logits;              // [T, V]

  int n_layer() const { return static_cast<int>(block.size()); }
  TraceLevel level() const { return ops.empty() ? TraceLevel::blocks : TraceLevel::ops; }
};

// ---- tensor identities ---------------------------------------------------------

// What a trace tensor is, independent of its storage.
enum class TensorKind { embed, ln_1, qkv, attn, mid, ln_2, gelu, block, ln_f, logits };

struct TensorId {
  TensorKind kind = TensorKind::embed;
  int layer = -1;            // l for the tensors of block l; -1 for embed, ln_f, logits
  std::string name() const;  // "embed", "block.2.ln_1", "block.2", "ln_f", "logits"
  // The op's short name inside its block ("ln_1", ..., "gelu"); "" otherwise.
  const char* op_name() const;
  bool is_op() const;  // one of the six tensors inside a block
  bool operator==(const TensorId&) const = default;
};

// Columns of the tensor for `config`: C, 3C, 4C or V.
int tensor_width(TensorKind kind, const Config& config);

// Every tensor of a trace of `n_layer` blocks at `level`, in forward order.
std::vector<TensorId> trace_tensor_ids(int n_layer, TraceLevel level);
std::vector<std::string> trace_tensor_names(int n_layer, TraceLevel level);

// The id of a trace tensor name for a model of `n_layer` blocks; nullopt for
// any other name (a layer out of range, an unknown op, stray characters).
std::optional<TensorId> parse_tensor_name(const std::string& name, int n_layer);

// ---- building and visiting -----------------------------------------------------

// A Trace of the right shapes at `level`, zero-filled.
template <class T>
Trace<T> make_trace(const Config& config, int n_tokens, TraceLevel level = TraceLevel::blocks) {
  Trace<T> t;
  t.n_tokens = n_tokens;
  t.n_embd = config.n_embd;
  t.vocab_size = config.vocab_size;
  const size_t tc = static_cast<size_t>(n_tokens) * config.n_embd;
  t.embed.assign(tc, T(0));
  if (level == TraceLevel::ops) {
    BlockOps<T> zero;
    zero.ln_1.assign(tc, T(0));
    zero.qkv.assign(3 * tc, T(0));
    zero.attn.assign(tc, T(0));
    zero.mid.assign(tc, T(0));
    zero.ln_2.assign(tc, T(0));
    zero.gelu.assign(4 * tc, T(0));
    t.ops.assign(config.n_layer, zero);
  }
  t.block.assign(config.n_layer, std::vector<T>(tc, T(0)));
  t.ln_f.assign(tc, T(0));
  t.logits.assign(static_cast<size_t>(n_tokens) * config.vocab_size, T(0));
  return t;
}

// The storage of tensor `id` in `trace` (which must carry it).
template <class Tr>
auto& tensor_of(Tr& trace, const TensorId& id) {
  switch (id.kind) {
    case TensorKind::embed:
      return trace.embed;
    case TensorKind::ln_1:
      return trace.ops.at(id.layer).ln_1;
    case TensorKind::qkv:
      return trace.ops.at(id.layer).qkv;
    case TensorKind::attn:
      return trace.ops.at(id.layer).attn;
    case TensorKind::mid:
      return trace.ops.at(id.layer).mid;
    case TensorKind::ln_2:
      return trace.ops.at(id.layer).ln_2;
    case TensorKind::gelu:
      return trace.ops.at(id.layer).gelu;
    case TensorKind::block:
      return trace.block.at(id.layer);
    case TensorKind::ln_f:
      return trace.ln_f;
    case TensorKind::logits:
      return trace.logits;
  }
  return trace.logits;  // unreachable: every kind is handled above
}

// Calls f(name, tensor, shape) for every tensor of the trace in forward
// order (the op tensors of block l before block.{l}, when the trace has them).
template <class Tr, class F>
void for_each_trace_tensor(Tr& trace, F&& f) {
  const int64_t T = trace.n_tokens, C = trace.n_embd, V = trace.vocab_size;
  for (const TensorId& id : trace_tensor_ids(trace.n_layer(), trace.level())) {
    const int64_t width = id.kind == TensorKind::logits ? V
                          : id.kind == TensorKind::qkv  ? 3 * C
                          : id.kind == TensorKind::gelu ? 4 * C
                                                        : C;
    f(id.name(), tensor_of(trace, id), Shape{T, width});
  }
}

// Rows [first, first + count) of every tensor (positions first ..).
template <class T>
Trace<T> trace_rows(const Trace<T>& trace, int first, int count) {
  Trace<T> out;
  out.n_tokens = count;
  out.n_embd = trace.n_embd;
  out.vocab_size = trace.vocab_size;
  out.ops.resize(trace.ops.size());
  out.block.resize(trace.block.size());
  for (const TensorId& id : trace_tensor_ids(trace.n_layer(), trace.level())) {
    const std::vector<T>& from = tensor_of(trace, id);
    const size_t width = from.size() / static_cast<size_t>(trace.n_tokens);
    tensor_of(out, id).assign(from.begin() + first * width, from.begin() + (first + count) * width);
  }
  return out;
}

// The same trace without its op tensors.
template <class T>
Trace<T> block_level(Trace<T> trace) {
  trace.ops.clear();
  return trace;
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
  for (const auto& o : from.ops)
    to.ops.push_back(
        {conv(o.ln_1), conv(o.qkv), conv(o.attn), conv(o.mid), conv(o.ln_2), conv(o.gelu)});
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

// Reads a whole trace written by write_trace or by any other runtime: F32 or
// F64 tensors named as above, every tensor of one level (blocks, or ops: all
// six op tensors of every block), with consistent shapes. Throws InputError
// naming the file and the tensor otherwise.
Trace<double> read_trace(const std::string& path);

}  // namespace gpt2
