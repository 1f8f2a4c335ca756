// libFuzzer target: config.json parsing. Any input must give a valid Config
// or an InputError; nothing else (no crash, no other exception, no sanitizer
// report).
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const gpt2::Config config = gpt2::config_from_json(text, "fuzz/config.json");
    config.validate();  // a parsed config is a valid one
    (void)gpt2::config_from_json(gpt2::config_to_json(config), "round trip");
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
