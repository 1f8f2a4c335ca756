#include "model/trace.h"

#include <map>

#include "model/error.h"
#include "model/safetensors.h"

namespace gpt2 {

void write_trace(const std::string& path, const Trace<double>& trace, TraceDtype dtype,
                 const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<std::vector<float>> narrowed;  // keeps F32 copies alive until written
  std::vector<TensorToWrite> tensors;
  for_each_trace_tensor(trace, [&](const std::string& name, const std::vector<double>& t,
                                   const Shape& shape) {
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
  write_safetensors(path, tensors, std::map<std::string, std::string>(metadata.begin(),
                                                                      metadata.end()));
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
  size_t expected_count = 0;
  for_each_trace_tensor(trace, [&](const std::string& name, std::vector<double>& t,
                                   const Shape& shape) {
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
    for (const TensorInfo& t : file.tensors()) {
      bool known = t.name == "embed" || t.name == "ln_f" || t.name == "logits";
      for (size_t l = 0; l < n_layer; ++l) known = known || t.name == "block." + std::to_string(l);
      if (!known) throw InputError(path + ": unexpected tensor '" + t.name + "'");
    }
  }
  return trace;
}

}  // namespace gpt2
