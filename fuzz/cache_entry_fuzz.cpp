// libFuzzer target: a truth-cache entry (model/cache_entry.h). Any input
// must give an entry or an InputError; an entry read back must serialize to
// an entry that reads back the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/cache_entry.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)gpt2::parse_cache_entry_head(bytes, "fuzz/head");
  } catch (const gpt2::InputError&) {
  }
  try {
    const gpt2::CacheEntry e = gpt2::parse_cache_entry(bytes, "fuzz/entry");
    const gpt2::CacheEntry back =
        gpt2::parse_cache_entry(gpt2::serialize_cache_entry(e), "round trip");
    if (back.key != e.key || back.kind != e.kind || back.fields != e.fields ||
        back.arrays.size() != e.arrays.size())
      __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
