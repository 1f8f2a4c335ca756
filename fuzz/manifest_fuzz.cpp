// libFuzzer target: fixture manifests (fixtures generate-set MANIFEST). Any
// input gives cases that satisfy the format's rules, or an InputError.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "fixtures/manifest.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto cases = gpt2::fixtures::parse_manifest(text, "dir/fuzz.txt");
    std::set<std::string> names;
    for (const auto& c : cases) {
      if (c.name.empty() || !names.insert(c.name).second) __builtin_trap();
      if (c.model.empty() == c.checkpoint.empty()) __builtin_trap();
      if (c.tokens.empty() == c.text_file.empty()) __builtin_trap();
    }
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
