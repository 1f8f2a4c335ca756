#include "model/cache_entry.h"

#include <algorithm>
#include <cstring>

#include "model/error.h"
#include "model/files.h"
#include "model/safetensors.h"
#include "model/utf8.h"

namespace gpt2 {

namespace {

constexpr const char* kFieldPrefix = "field.";
constexpr size_t kHeadLookBytes = 4096;

bool is_kind(const std::string& kind) {
  if (kind.empty() || kind.size() > 32) return false;
  return std::all_of(kind.begin(), kind.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Printable UTF-8 without control characters (C0, DEL), at most the limit.
bool is_description(const std::string& text) {
  if (text.size() > kMaxCacheDescriptionBytes || find_invalid_utf8(text) != std::string::npos)
    return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// The lines before the digest line, as they are written.
std::string head_lines(const CacheEntry& e) {
  return std::string(kCacheEntryMagic) + "\nkind " + e.kind + "\nkey " + e.key + "\ndescription " +
         e.description + "\n";
}

// Reads "<label> <value>\n" at `at`; advances past it.
std::string take_line(const std::string& bytes, size_t& at, const char* label,
                      const std::string& source) {
  const std::string prefix = std::string(label) + " ";
  const size_t end = bytes.find('\n', at);
  if (bytes.compare(at, prefix.size(), prefix) != 0 || end == std::string::npos)
    throw InputError(source + ": not a truth cache entry (expected a '" + label + "' line)");
  std::string value = bytes.substr(at + prefix.size(), end - at - prefix.size());
  at = end + 1;
  return value;
}

// Parses the lines up to the digest line; `at` ends at the digest line.
CacheEntry parse_head(const std::string& bytes, size_t& at, const std::string& source) {
  const std::string magic = std::string(kCacheEntryMagic) + "\n";
  if (bytes.compare(0, magic.size(), magic) != 0)
    throw InputError(source + ": not a truth cache entry of this format (expected the line '" +
                     kCacheEntryMagic + "')");
  at = magic.size();
  CacheEntry e;
  e.kind = take_line(bytes, at, "kind", source);
  if (!is_kind(e.kind)) throw InputError(source + ": bad entry kind");
  e.key = take_line(bytes, at, "key", source);
  if (!is_cache_key(e.key)) throw InputError(source + ": bad entry key (expected 64 hex digits)");
  e.description = take_line(bytes, at, "description", source);
  if (!is_description(e.description)) throw InputError(source + ": bad entry description");
  return e;
}

}  // namespace

bool is_cache_key(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

const std::vector<double>& CacheEntry::array(const std::string& name, long long size,
                                             const std::string& source) const {
  for (const auto& [n, values] : arrays) {
    if (n != name) continue;
    if (size >= 0 && values.size() != static_cast<size_t>(size))
      throw InputError(source + ": array '" + name + "' has " + std::to_string(values.size()) +
                       " elements, expected " + std::to_string(size));
    return values;
  }
  throw InputError(source + ": no array '" + name + "'");
}

const std::string& CacheEntry::field(const std::string& name, const std::string& source) const {
  const auto it = fields.find(name);
  if (it == fields.end()) throw InputError(source + ": no field '" + name + "'");
  return it->second;
}

std::string serialize_cache_entry(const CacheEntry& e) {
  GPT2_CHECK(is_kind(e.kind), "cache entry: bad kind");
  GPT2_CHECK(is_cache_key(e.key), "cache entry: bad key");
  GPT2_CHECK(is_description(e.description), "cache entry: bad description");
  std::vector<TensorToWrite> tensors;
  for (const auto& [name, values] : e.arrays)
    tensors.push_back(TensorToWrite{name, Dtype::F64, Shape{static_cast<int64_t>(values.size())},
                                    values.data(), nullptr});
  std::map<std::string, std::string> metadata;
  for (const auto& [name, value] : e.fields) metadata[kFieldPrefix + name] = value;
  const std::string head = head_lines(e);
  const std::string body = serialize_safetensors(tensors, metadata);
  Sha256 sha;
  sha.update(head);
  sha.update(body);
  return head + "sha256 " + sha.hex() + "\n" + body;
}

CacheEntry parse_cache_entry_head(const std::string& first_bytes, const std::string& source) {
  size_t at = 0;
  return parse_head(first_bytes.substr(0, kHeadLookBytes), at, source);
}

CacheEntry parse_cache_entry(const std::string& bytes, const std::string& source) {
  size_t at = 0;
  CacheEntry e = parse_head(bytes, at, source);
  const size_t head_end = at;
  const std::string digest = take_line(bytes, at, "sha256", source);
  if (!is_cache_key(digest)) throw InputError(source + ": bad entry digest");
  Sha256 sha;
  sha.update(bytes.data(), head_end);
  sha.update(bytes.data() + at, bytes.size() - at);
  if (sha.hex() != digest)
    throw InputError(source + ": damaged (its SHA-256 does not match the digest it records)");
  const SafetensorsFile body = SafetensorsFile::parse(bytes.substr(at), source);
  for (const auto& [key, value] : body.metadata()) {
    if (key.rfind(kFieldPrefix, 0) != 0)
      throw InputError(source + ": metadata key '" + key + "' is not a field");
    e.fields[key.substr(std::strlen(kFieldPrefix))] = value;
  }
  for (const TensorInfo& t : body.tensors()) {
    if (t.dtype != Dtype::F64 || t.shape.size() != 1)
      throw InputError(source + ": array '" + t.name + "' is not a one-dimensional F64 tensor");
    e.arrays.emplace_back(t.name, body.read_f64(t.name));
  }
  return e;
}

}  // namespace gpt2
