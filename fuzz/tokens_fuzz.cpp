// libFuzzer target: token-list parsing ("5,17,3"). Any input must give a
// list that validates against the config, or an InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/error.h"
#include "model/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpt2::Config config;
  config.n_layer = 1;
  config.n_head = 1;
  config.n_embd = 4;
  config.n_ctx = 32;
  config.vocab_size = 50257;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto tokens = gpt2::parse_tokens(text, config, "fuzz");
    gpt2::validate_tokens(tokens, config, "fuzz");
    if (gpt2::parse_tokens(gpt2::format_tokens(tokens), config, "fuzz") != tokens) __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
