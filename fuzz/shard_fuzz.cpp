// libFuzzer target: shard specifications ("2/3", --shard K/N). Any input
// gives a shard with 1 <= K <= N <= kMaxShards that prints back as the same
// text, or an InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/error.h"
#include "model/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const gpt2::Shard s = gpt2::parse_shard(text, "fuzz");
    if (s.index < 1 || s.index > s.count || s.count > gpt2::kMaxShards) __builtin_trap();
    if (s.text() != text) __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
