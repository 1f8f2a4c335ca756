#include "model/trace.h"

#include <algorithm>
#include <map>

#include "model/error.h"
#include "model/json_strict.h"
#include "model/safetensors.h"

namespace gpt2 {

const char* trace_level_name(TraceLevel level) {
  return level == TraceLevel::ops ? "ops" : "blocks";
}

TraceLevel parse_trace_level(const std::string& text) {
  if (text == "blocks") return TraceLevel::blocks;
  if (text == "ops") return TraceLevel::ops;
  throw InputError("--trace-level: expected 'blocks' or 'ops', got " + quote_for_message(text));
}

namespace {

// The six op tensors inside a block, in forward order.
constexpr TensorKind kBlockOps[] = {TensorKind::ln_1, TensorKind::qkv,  TensorKind::attn,
                                    TensorKind::mid,  TensorKind::ln_2, TensorKind::gelu};

}  // namespace

const char* TensorId::op_name() const {
  switch (kind) {
    case TensorKind::ln_1:
      return "ln_1";
    case TensorKind::qkv:
      return "qkv";
    case TensorKind::attn:
      return "attn";
    case TensorKind::mid:
      return "mid";
    case TensorKind::ln_2:
      return "ln_2";
    case TensorKind::gelu:
      return "gelu";
    default:
      return "";
  }
}

bool TensorId::is_op() const { return *op_name() != '\0'; }

std::string TensorId::name() const {
  switch (kind) {
    case TensorKind::embed:
      return "embed";
    case TensorKind::block:
      return "block." + std::to_string(layer);
    case TensorKind::ln_f:
      return "ln_f";
    case TensorKind::logits:
      return "logits";
    default:
      return "block." + std::to_string(layer) + "." + op_name();
  }
}

int tensor_width(TensorKind kind, const Config& config) {
  switch (kind) {
    case TensorKind::qkv:
      return 3 * config.n_embd;
    case TensorKind::gelu:
      return 4 * config.n_embd;
    case TensorKind::logits:
      return config.vocab_size;
    default:
      return config.n_embd;
  }
}

std::vector<TensorId> trace_tensor_ids(int n_layer, TraceLevel level) {
  std::vector<TensorId> ids = {{TensorKind::embed, -1}};
  for (int l = 0; l < n_layer; ++l) {
    if (level == TraceLevel::ops)
      for (TensorKind kind : kBlockOps) ids.push_back({kind, l});
    ids.push_back({TensorKind::block, l});
  }
  ids.push_back({TensorKind::ln_f, -1});
  ids.push_back({TensorKind::logits, -1});
  return ids;
}

std::vector<std::string> trace_tensor_names(int n_layer, TraceLevel level) {
  std::vector<std::string> names;
  for (const TensorId& id : trace_tensor_ids(n_layer, level)) names.push_back(id.name());
  return names;
}

std::optional<TensorId> parse_tensor_name(const std::string& name, int n_layer) {
  for (const TensorId& id : trace_tensor_ids(n_layer, TraceLevel::ops))
    if (id.name() == name) return id;
  return std::nullopt;
}

void write_trace(const std::string& path, const Trace<double>& trace, TraceDtype dtype,
                 const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::vector<float>> narrowed;  // keeps F32 copies alive until written
  std::vector<TensorToWrite> tensors;
  for_each_trace_tensor(
      trace, [&](const std::string& name, const std::vector<double>& t, const Shape& shape) {
        GPT2_CHECK(static_cast<int64_t>(t.size()) == element_count(shape), name);
        TensorToWrite w;
        w.name = name;
        w.shape = shape;
        if (dtype == TraceDtype::F64) {
          w.dtype = Dtype::F64;
          w.data_f64 = t.data();
        } else {
          w.dtype = Dtype::F32;
          narrowed.emplace_back(t.begin(), t.end());
        }
        tensors.push_back(w);
      });
  if (dtype == TraceDtype::F32)
    for (size_t i = 0; i < tensors.size(); ++i) tensors[i].data_f32 = narrowed[i].data();
  write_safetensors(path, tensors,
                    std::map<std::string, std::string>(metadata.begin(), metadata.end()));
}

Trace<double> read_trace(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::read(path);
  const TensorInfo* embed = file.find("embed");
  const TensorInfo* logits = file.find("logits");
  if (embed == nullptr) throw InputError(path + ": missing tensor 'embed'");
  if (logits == nullptr) throw InputError(path + ": missing tensor 'logits'");
  if (embed->shape.size() != 2 || logits->shape.size() != 2 ||
      embed->shape[0] != logits->shape[0] || embed->shape[0] <= 0 || embed->shape[1] <= 0 ||
      logits->shape[1] <= 0)
    throw InputError(path + ": 'embed' must be [T, C] and 'logits' [T, V] with T, C, V > 0");
  Trace<double> trace;
  trace.n_tokens = static_cast<int>(embed->shape[0]);
  trace.n_embd = static_cast<int>(embed->shape[1]);
  trace.vocab_size = static_cast<int>(logits->shape[1]);
  size_t n_layer = 0;
  while (file.find("block." + std::to_string(n_layer)) != nullptr) ++n_layer;
  trace.block.resize(n_layer);
  // An op-level trace carries every op tensor of every block.
  if (n_layer > 0 && file.find("block.0.ln_1") != nullptr) trace.ops.resize(n_layer);
  size_t expected_count = 0;
  for_each_trace_tensor(
      trace, [&](const std::string& name, std::vector<double>& t, const Shape& shape) {
        ++expected_count;
        const TensorInfo* info = file.find(name);
        if (info == nullptr) throw InputError(path + ": missing tensor '" + name + "'");
        if (info->dtype != Dtype::F32 && info->dtype != Dtype::F64)
          throw InputError(path + ": tensor '" + name + "' is " + dtype_name(info->dtype) +
                           ", expected F32 or F64");
        if (info->shape != shape)
          throw InputError(path + ": tensor '" + name + "' has the wrong shape (expected [" +
                           std::to_string(shape[0]) + ", " + std::to_string(shape[1]) + "])");
        t = file.read_f64(name);
      });
  if (file.tensors().size() != expected_count) {
    const std::vector<std::string> names =
        trace_tensor_names(static_cast<int>(n_layer), trace.level());
    for (const TensorInfo& t : file.tensors())
      if (std::find(names.begin(), names.end(), t.name) == names.end())
        throw InputError(path + ": unexpected tensor " + quote_for_message(t.name) + " (a " +
                         trace_level_name(trace.level()) + "-level trace of " +
                         std::to_string(n_layer) + " blocks)");
  }
  return trace;
}

}  // namespace gpt2
