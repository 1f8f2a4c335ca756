// libFuzzer target: precision profile JSON (model/profile.h). Any input must
// give a Profile or an InputError; a Profile must survive its own JSON form.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/error.h"
#include "model/profile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpt2;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Profile p = profile_from_json(text, "fuzz/profile.json");
    if (!(profile_from_json(profile_to_json(p), "fuzz/again.json") == p)) __builtin_trap();
  } catch (const InputError&) {
  }
  return 0;
}
