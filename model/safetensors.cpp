#include "model/safetensors.h"

#include <algorithm>
#include <bit>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

#include "model/error.h"
#include "model/files.h"
#include "model/json_strict.h"
#include "model/utf8.h"

namespace gpt2 {

using nlohmann::json;

namespace {

// The file starts with the header length as a little-endian u64.
constexpr int kLengthPrefixBytes = 8;

// Little-endian loads and stores, byte by byte, so the file format does not
// depend on the host's byte order or on alignment.
uint64_t load_le(const char* p, int n_bytes) {
  uint64_t v = 0;
  for (int i = n_bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void store_le(char* p, uint64_t v, int n_bytes) {
  for (int i = 0; i < n_bytes; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Stores n values of `From` as little-endian `To` (float or double), rounding
// to nearest when To is narrower; returns the position after the last byte.
template <class To, class From>
char* store_all(char* p, const From* values, size_t n) {
  using Bits = std::conditional_t<sizeof(To) == 4, uint32_t, uint64_t>;
  for (size_t j = 0; j < n; ++j, p += sizeof(To))
    store_le(p, std::bit_cast<Bits>(static_cast<To>(values[j])), sizeof(To));
  return p;
}

// 'name' for an error message: control bytes escaped (a name may contain a
// newline, and messages are one line), long names cut at a character boundary.
std::string quote_name(std::string_view name) { return quote_for_message(name); }

// A JSON value as found in the header, short enough for a one-line message.
std::string describe(const json& value) {
  switch (value.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array of " + std::to_string(value.size());
    case json::value_t::string:
      return "the string " + quote_name(value.get_ref<const std::string&>());
    default: {
      std::string text = value.dump();
      if (text.size() > kMaxQuotedBytes) text = text.substr(0, kMaxQuotedBytes) + "...";
      return text;
    }
  }
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (Dtype d : {Dtype::F16, Dtype::BF16, Dtype::F32, Dtype::F64})
    if (name == dtype_name(d)) return d;
  return std::nullopt;
}

// The value of a non-negative JSON integer, or nullopt for anything else
// (negative, fractional, too large for u64: nlohmann turns those into floats).
std::optional<uint64_t> as_u64(const json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer() && value.get<int64_t>() >= 0) return value.get<int64_t>();
  return std::nullopt;
}

// Bytes that `shape` of `dtype` occupies, or nullopt when the element count
// overflows. Zero-sized dimensions are left out of the overflow check's
// product on purpose: element_count() multiplies in the given order, so the
// product of the non-zero dimensions must fit in int64 for every prefix
// product to fit too.
std::optional<uint64_t> checked_byte_size(const Shape& shape, Dtype dtype) {
  uint64_t nonzero_product = 1;
  bool has_zero = false;
  for (int64_t d : shape) {
    if (d == 0) {
      has_zero = true;
      continue;
    }
    if (__builtin_mul_overflow(nonzero_product, static_cast<uint64_t>(d), &nonzero_product))
      return std::nullopt;
  }
  uint64_t bytes = 0;
  if (nonzero_product > static_cast<uint64_t>(INT64_MAX) ||
      __builtin_mul_overflow(nonzero_product, static_cast<uint64_t>(dtype_size(dtype)), &bytes))
    return std::nullopt;
  return has_zero ? 0 : bytes;
}

// One header entry: {"dtype": ..., "shape": [...], "data_offsets": [b, e]},
// nothing more, checked against a data buffer of `buffer_size` bytes.
TensorInfo parse_tensor_entry(const std::string& name, const json& entry, uint64_t buffer_size,
                              const std::string& source) {
  const std::string where = source + ": tensor " + quote_name(name) + ": ";
  if (!entry.is_object())
    throw InputError(where +
                     "expected an object with \"dtype\", \"shape\" and \"data_offsets\", found " +
                     describe(entry));
  for (const auto& [key, value] : entry.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw InputError(where + "unexpected key " + quote_name(key));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!entry.contains(key)) throw InputError(where + "missing key \"" + key + "\"");

  TensorInfo info;
  info.name = name;

  const json& dtype = entry["dtype"];
  if (!dtype.is_string())
    throw InputError(where + "dtype must be a string, found " + describe(dtype));
  const std::optional<Dtype> parsed_dtype = parse_dtype(dtype.get_ref<const std::string&>());
  if (!parsed_dtype)
    throw InputError(where + "unsupported dtype " +
                     quote_name(dtype.get_ref<const std::string&>()) +
                     " (supported: F16, BF16, F32, F64)");
  info.dtype = *parsed_dtype;

  const json& shape = entry["shape"];
  if (!shape.is_array())
    throw InputError(where + "shape must be an array, found " + describe(shape));
  for (size_t i = 0; i < shape.size(); ++i) {
    const std::optional<uint64_t> d = as_u64(shape[i]);
    if (!d)
      throw InputError(where + "shape entry " + std::to_string(i) + " is " + describe(shape[i]) +
                       ", expected a non-negative integer");
    if (*d > static_cast<uint64_t>(INT64_MAX))
      throw InputError(where + "shape entry " + std::to_string(i) + " is " + std::to_string(*d) +
                       ", too large");
    info.shape.push_back(static_cast<int64_t>(*d));
  }
  const std::optional<uint64_t> byte_size = checked_byte_size(info.shape, info.dtype);
  if (!byte_size)
    throw InputError(where + "shape " + shape_text(info.shape) +
                     " has too many elements (its size overflows 64 bits)");

  const json& offsets = entry["data_offsets"];
  std::optional<uint64_t> begin, end;
  if (offsets.is_array() && offsets.size() == 2) {
    begin = as_u64(offsets[0]);
    end = as_u64(offsets[1]);
  }
  if (!begin || !end)
    throw InputError(where +
                     "data_offsets must be [begin, end] with non-negative integers, found " +
                     (offsets.is_array() && offsets.size() == 2
                          ? "[" + describe(offsets[0]) + ", " + describe(offsets[1]) + "]"
                          : describe(offsets)));
  info.begin = *begin;
  info.end = *end;
  const std::string range =
      "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
  if (info.begin > info.end)
    throw InputError(where + "data_offsets " + range + " are unsorted (begin > end)");
  if (info.end > buffer_size)
    throw InputError(where + "data_offsets " + range + " reach beyond the data buffer (" +
                     std::to_string(buffer_size) + " bytes)");
  if (info.end - info.begin != *byte_size)
    throw InputError(where + "data_offsets " + range + " hold " +
                     std::to_string(info.end - info.begin) + " bytes but " +
                     dtype_name(info.dtype) + " " + shape_text(info.shape) + " needs " +
                     std::to_string(*byte_size));
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& metadata, const std::string& source) {
  if (!metadata.is_object())
    throw InputError(source + ": __metadata__ must be an object of strings, found " +
                     describe(metadata));
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string())
      throw InputError(source + ": __metadata__ value for key " + quote_name(key) +
                       " must be a string, found " + describe(value));
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

// The specification requires the tensors to index the data buffer exactly:
// sorted by offset, each starts where the previous ends, the last ends at the
// end of the buffer. An overlap could alias two weights, a hole could hide
// data; both mean the file is not what it claims.
void check_coverage(const std::vector<TensorInfo>& sorted, uint64_t buffer_size,
                    const std::string& source) {
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  auto range = [](const TensorInfo& t) {
    return quote_name(t.name) + " [" + std::to_string(t.begin) + ", " + std::to_string(t.end) + "]";
  };
  for (const TensorInfo& t : sorted) {
    if (t.begin < covered)
      throw InputError(source + ": tensors " + range(*previous) + " and " + range(t) + " overlap");
    if (t.begin > covered)
      throw InputError(
          source + ": bytes [" + std::to_string(covered) + ", " + std::to_string(t.begin) +
          ") of the data buffer belong to no tensor (a hole before " + quote_name(t.name) + ")");
    covered = t.end;
    previous = &t;
  }
  if (covered != buffer_size)
    throw InputError(source + ": bytes [" + std::to_string(covered) + ", " +
                     std::to_string(buffer_size) +
                     ") at the end of the data buffer belong to no tensor");
}

// Elements of one dtype from little-endian bytes; `load` turns the bytes of
// one element into its float or double value.
template <class T, size_t kSize, class Load>
std::vector<T> decode_each(std::string_view bytes, Load load) {
  std::vector<T> out(bytes.size() / kSize);
  const char* p = bytes.data();
  for (T& v : out) {
    v = static_cast<T>(load(p));
    p += kSize;
  }
  return out;
}

// The switch stands outside the element loops, which stay simple enough for
// the compiler to turn into plain loads on a little-endian host.
template <class T>
std::vector<T> decode(Dtype dtype, std::string_view bytes) {
  switch (dtype) {
    case Dtype::F16:
      return decode_each<T, 2>(
          bytes, [](const char* p) { return f16_to_f32(static_cast<uint16_t>(load_le(p, 2))); });
    case Dtype::BF16:
      return decode_each<T, 2>(
          bytes, [](const char* p) { return bf16_to_f32(static_cast<uint16_t>(load_le(p, 2))); });
    case Dtype::F32:
      return decode_each<T, 4>(bytes, [](const char* p) {
        return std::bit_cast<float>(static_cast<uint32_t>(load_le(p, 4)));
      });
    case Dtype::F64:
      // double -> float rounds to nearest (IEEE 754; beyond FLT_MAX gives inf).
      return decode_each<T, 8>(bytes,
                               [](const char* p) { return std::bit_cast<double>(load_le(p, 8)); });
  }
  GPT2_CHECK(false, "unknown Dtype");
}

}  // namespace

const char* dtype_name(Dtype dtype) {
  switch (dtype) {
    case Dtype::F16:
      return "F16";
    case Dtype::BF16:
      return "BF16";
    case Dtype::F32:
      return "F32";
    case Dtype::F64:
      return "F64";
  }
  GPT2_CHECK(false, "unknown Dtype");
}

size_t dtype_size(Dtype dtype) {
  switch (dtype) {
    case Dtype::F16:
    case Dtype::BF16:
      return 2;
    case Dtype::F32:
      return 4;
    case Dtype::F64:
      return 8;
  }
  GPT2_CHECK(false, "unknown Dtype");
}

SafetensorsFile SafetensorsFile::read(const std::string& path) {
  return parse(read_file(path), path);
}

SafetensorsFile SafetensorsFile::parse(std::string bytes, const std::string& source) {
  if (bytes.size() < kLengthPrefixBytes)
    throw InputError(source + ": file is " + std::to_string(bytes.size()) +
                     " bytes, too short for the 8-byte header length (truncated?)");
  const uint64_t header_length = load_le(bytes.data(), kLengthPrefixBytes);
  // Compared before any addition, so a length near 2^64 cannot wrap around.
  if (header_length > kMaxHeaderBytes)
    throw InputError(source + ": header length " + std::to_string(header_length) +
                     " exceeds the limit of " + std::to_string(kMaxHeaderBytes) +
                     " bytes (100 MiB)");
  const uint64_t after_prefix = bytes.size() - kLengthPrefixBytes;
  if (header_length > after_prefix)
    throw InputError(source + ": header length " + std::to_string(header_length) +
                     " is beyond the end of the file (only " + std::to_string(after_prefix) +
                     " bytes follow; truncated?)");
  const std::string_view header(bytes.data() + kLengthPrefixBytes, header_length);
  if (header.empty() || header.front() != '{')
    throw InputError(source + ": header is not a JSON object (it must start with '{')");
  if (const size_t bad = find_invalid_utf8(header); bad != std::string_view::npos)
    throw InputError(source + ": header is not valid UTF-8 (byte " + std::to_string(bad) +
                     " of the header)");
  // nlohmann::json stops at a NUL byte as if the input ended there, so
  // "{...}\0garbage" would pass; raw NUL is never valid JSON text.
  if (const size_t nul = header.find('\0'); nul != std::string_view::npos)
    throw InputError(source + ": header contains a NUL byte (byte " + std::to_string(nul) +
                     " of the header)");
  // Trailing spaces inside the N bytes (the specification's padding) are
  // JSON whitespace, which the parser accepts after the object.
  const json root = parse_strict_json(header, source);
  if (!root.is_object()) throw InputError(source + ": header is not a JSON object");

  SafetensorsFile file;
  file.source_ = source;
  const uint64_t buffer_size = after_prefix - header_length;
  for (const auto& [key, value] : root.items()) {
    if (key == "__metadata__") {
      file.metadata_ = parse_metadata(value, source);
    } else {
      file.tensors_.push_back(parse_tensor_entry(key, value, buffer_size, source));
    }
  }
  // Names break ties between zero-sized tensors so the order is deterministic.
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) {
              return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
            });
  check_coverage(file.tensors_, buffer_size, source);

  for (size_t i = 0; i < file.tensors_.size(); ++i) file.index_.emplace(file.tensors_[i].name, i);
  file.data_start_ = kLengthPrefixBytes + header_length;
  file.bytes_ = std::move(bytes);
  return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::string_view SafetensorsFile::raw(const TensorInfo& info) const {
  GPT2_CHECK(info.begin <= info.end && info.end <= bytes_.size() - data_start_,
             "tensor " + quote_name(info.name) + " is not from " + source_);
  return std::string_view(bytes_).substr(data_start_ + info.begin, info.end - info.begin);
}

std::vector<float> SafetensorsFile::read_f32(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) throw InputError(source_ + ": no tensor " + quote_name(name));
  return decode<float>(info->dtype, raw(*info));
}

std::vector<double> SafetensorsFile::read_f64(const std::string& name) const {
  const TensorInfo* info = find(name);
  if (info == nullptr) throw InputError(source_ + ": no tensor " + quote_name(name));
  return decode<double>(info->dtype, raw(*info));
}

std::string serialize_safetensors(const std::vector<TensorToWrite>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  // nlohmann::json keeps object keys in a std::map: dump() writes them sorted
  // and without spaces, so equal input gives equal bytes.
  json header = json::object();
  uint64_t offset = 0;
  std::vector<uint64_t> sizes;
  for (const TensorToWrite& t : tensors) {
    GPT2_CHECK(t.dtype == Dtype::F32 || t.dtype == Dtype::F64,
               "safetensors writer: only F32 and F64, tensor " + quote_name(t.name));
    GPT2_CHECK(t.name != "__metadata__" && !header.contains(t.name),
               "safetensors writer: reserved or duplicate name " + quote_name(t.name));
    GPT2_CHECK(find_invalid_utf8(t.name) == std::string_view::npos,
               "safetensors writer: name is not UTF-8");
    for (int64_t d : t.shape)
      GPT2_CHECK(d >= 0, "safetensors writer: negative dimension in " + quote_name(t.name));
    const std::optional<uint64_t> bytes = checked_byte_size(t.shape, t.dtype);
    GPT2_CHECK(bytes.has_value(), "safetensors writer: shape overflows in " + quote_name(t.name));
    GPT2_CHECK(!(t.data_f32 && t.data_f64), "safetensors writer: two data pointers");
    GPT2_CHECK(*bytes == 0 || t.data_f32 || t.data_f64,
               "safetensors writer: no data for " + quote_name(t.name));
    json entry = json::object();
    entry["dtype"] = dtype_name(t.dtype);
    entry["shape"] = t.shape;
    entry["data_offsets"] = json::array({offset, offset + *bytes});
    header[t.name] = std::move(entry);
    sizes.push_back(*bytes);
    offset += *bytes;
  }
  if (!metadata.empty()) {
    json meta = json::object();
    for (const auto& [key, value] : metadata) {
      GPT2_CHECK(find_invalid_utf8(key) == std::string_view::npos &&
                     find_invalid_utf8(value) == std::string_view::npos,
                 "safetensors writer: metadata is not UTF-8");
      meta[key] = value;
    }
    header["__metadata__"] = std::move(meta);
  }
  std::string text = header.dump();
  // Spaces up to a multiple of 8, so the data buffer starts 8-byte aligned
  // (the specification's recommendation; readers treat them as whitespace).
  text.append((8 - text.size() % 8) % 8, ' ');

  // Sized up front and filled through a pointer: the model files reach
  // hundreds of megabytes.
  std::string out(kLengthPrefixBytes + text.size() + offset, '\0');
  char* p = out.data();
  store_le(p, text.size(), kLengthPrefixBytes);
  p = std::copy(text.begin(), text.end(), p + kLengthPrefixBytes);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& t = tensors[i];
    const size_t n = sizes[i] / dtype_size(t.dtype);
    if (n == 0) continue;
    // F64 input stored as F32 rounds to nearest; every other pairing is exact.
    if (t.dtype == Dtype::F32) {
      p = t.data_f32 ? store_all<float>(p, t.data_f32, n) : store_all<float>(p, t.data_f64, n);
    } else {
      p = t.data_f64 ? store_all<double>(p, t.data_f64, n) : store_all<double>(p, t.data_f32, n);
    }
  }
  GPT2_CHECK(p == out.data() + out.size(), "safetensors writer: size mismatch");
  return out;
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

}  // namespace gpt2
