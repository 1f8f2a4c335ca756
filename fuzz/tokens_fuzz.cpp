// libFuzzer target: token-list parsing ("5,17,3"). Any input must give a
// list that validates against the config, or an InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/error.h"
#include "model/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gpt2::Config config = gpt2::make_config(1, 1, 4, 32, 50257);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto tokens = gpt2::parse_tokens(text, config, "fuzz");
    gpt2::validate_tokens(tokens, config, "fuzz");
    if (gpt2::parse_tokens(gpt2::format_tokens(tokens), config, "fuzz") != tokens) __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
