// Safetensors files (https://github.com/huggingface/safetensors), strict.
//
// Layout: 8 bytes little-endian u64 N, then N bytes of JSON header (an object;
// each key a tensor name mapping to {"dtype", "shape", "data_offsets":
// [begin, end]}, plus an optional "__metadata__" object of string to string),
// then the byte buffer; offsets are relative to the start of the buffer.
//
// The reader rejects, with an InputError naming the file and the problem:
// a file shorter than 8 bytes; a header length beyond the file or over
// kMaxHeaderBytes; a header that is not valid UTF-8, not strict JSON or not an
// object; a duplicate tensor name; an unknown dtype; a negative or
// non-integer shape entry; begin > end ("unsorted" offsets); offsets beyond
// the buffer; tensors that overlap or leave holes (the buffer must be indexed
// exactly, as the specification requires); a byte size different from
// element count × dtype size; a __metadata__ value that is not a string.
// Also: a header that does not start with '{' or holds a NUL byte (trailing
// spaces inside the N bytes are accepted: the specification's padding), a
// tensor entry with a missing or unknown key, a shape whose element count or
// byte size overflows 64 bits (even when another dimension is 0). A tensor
// with a 0 in its shape is legal and has begin == end. Messages are one line:
// "<source>: tensor 'NAME': <problem>".
#pragma once

#include "model/float_formats.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "model/weights.h"

namespace gpt2 {

enum class Dtype { F16, BF16, F32, F64 };

const char* dtype_name(Dtype dtype);  // "F16", "BF16", "F32", "F64"
size_t dtype_size(Dtype dtype);       // bytes per element

// Largest header accepted: 100 MiB (the reference implementation's limit is
// of the same order; a real GPT-2 header is a few kilobytes).
inline constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct TensorInfo {
  std::string name;
  Dtype dtype = Dtype::F32;
  Shape shape;
  uint64_t begin = 0;  // byte offsets into the data buffer, [begin, end)
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Reads and validates a whole file. `path` names the file in errors.
  static SafetensorsFile read(const std::string& path);
  // Validates bytes already in memory (used by the fuzzer); `source` names
  // them in errors.
  static SafetensorsFile parse(std::string bytes, const std::string& source);

  const std::string& source() const { return source_; }
  // Tensors in data-offset order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const TensorInfo* find(const std::string& name) const;

  // The tensor's elements converted to float / double (F16 and BF16 widen
  // exactly; F64 -> float rounds to nearest). Throws InputError if absent.
  std::vector<float> read_f32(const std::string& name) const;
  std::vector<double> read_f64(const std::string& name) const;
  // The raw little-endian bytes of a tensor.
  std::string_view raw(const TensorInfo& info) const;

 private:
  std::string source_;
  std::string bytes_;  // the whole file
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// One tensor to write. `data` holds element_count(shape) values; they are
// stored as `dtype` (F32 or F64; F32 rounds to nearest).
struct TensorToWrite {
  std::string name;
  Dtype dtype = Dtype::F32;
  Shape shape;
  const double* data_f64 = nullptr;  // exactly one of these is set
  const float* data_f32 = nullptr;
};

// The file's bytes: header keys in sorted order (deterministic), data in the
// order given, no padding beyond the 8-byte alignment of the header that the
// specification recommends (spaces). Byte-identical for identical input.
std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata);

// serialize_safetensors, written atomically: PATH.tmp.<pid>, then rename.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace gpt2
