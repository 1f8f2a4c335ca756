// The file format of one truth-cache entry (oracle/truth_cache.h stores
// them): a few named arrays of doubles and a few named strings, under a
// content key, protected by a SHA-256 of everything.
//
// Layout (bytes):
//   gpt2-oracle truth cache entry 1\n     magic and format version
//   kind <kind>\n                         [a-z0-9-]{1,32}: "reference", "replay", ...
//   key <key>\n                           64 lower-case hex digits (the content key)
//   description <text>\n                  one line for people (printable UTF-8, no
//                                         control characters, at most 1000 bytes)
//   sha256 <digest>\n                     SHA-256 of every byte of the entry except
//                                         this line (the lines above and the body)
//   <body>                                a safetensors file (model/safetensors.h):
//                                         every tensor F64 and one-dimensional (the
//                                         arrays, in the order written), metadata
//                                         "field.<name>" -> value (the strings)
//
// parse_cache_entry is strict: a missing or misspelt line, a bad kind, key,
// description or digest, a digest that does not match, any safetensors
// fault, a tensor that is not F64 or not 1-D, a metadata key without the
// "field." prefix: each is an InputError naming `source` and the problem.
// So a damaged entry is detected, never trusted. The first lines can be read
// without the body (parse_cache_entry_head: `cache list`).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gpt2 {

inline constexpr const char* kCacheEntryMagic = "gpt2-oracle truth cache entry 1";
inline constexpr size_t kMaxCacheDescriptionBytes = 1000;

struct CacheEntry {
  std::string kind;
  std::string key;
  std::string description;
  std::map<std::string, std::string> fields;
  std::vector<std::pair<std::string, std::vector<double>>> arrays;

  // The array named `name`; InputError naming `source` when absent or not
  // of `size` elements (size < 0: any).
  const std::vector<double>& array(const std::string& name, long long size,
                                   const std::string& source) const;
  // The field named `name`; InputError naming `source` when absent.
  const std::string& field(const std::string& name, const std::string& source) const;
};

// The entry's bytes (deterministic for identical entries). InternalError for
// a kind, key or description that parse_cache_entry would refuse.
std::string serialize_cache_entry(const CacheEntry& entry);

// The whole entry, verified (see above).
CacheEntry parse_cache_entry(const std::string& bytes, const std::string& source);

// The kind, key and description lines alone (the first bytes of a file; at
// most the first 4 KiB are looked at); fields and arrays are left empty and
// the digest is not checked.
CacheEntry parse_cache_entry_head(const std::string& first_bytes, const std::string& source);

// Whether `text` is a content key: 64 lower-case hex digits.
bool is_cache_key(const std::string& text);

}  // namespace gpt2
