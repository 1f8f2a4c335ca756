// libFuzzer target: GPT-2's tokenizer on any bytes (GPT-2's own files, as
// ci/setup unpacks them; model/gpt2_tokenizer_test_support.h). Well-formed UTF-8
// must encode to ids of the vocabulary that decode to the same bytes, the
// same ids every time (the cache); anything else must be an InputError at
// the first ill-formed byte.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "model/error.h"
#include "model/gpt2_tokenizer_test_support.h"
#include "model/utf8.h"

namespace {
std::unique_ptr<gpt2::Gpt2Tokenizer> tokenizer;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  try {
    tokenizer = std::make_unique<gpt2::Gpt2Tokenizer>(gpt2::test_tokenizer::read_gpt2_tokenizer());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_tokenizer_round_trip: %s\n", e.what());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t bad = gpt2::find_invalid_utf8(text);
  try {
    const std::vector<int> ids = tokenizer->encode(text, "fuzz");
    if (bad != std::string::npos) __builtin_trap();  // ill-formed text accepted
    for (int id : ids)
      if (!tokenizer->has_token(id)) __builtin_trap();
    if (tokenizer->decode(ids) != text) __builtin_trap();
    if (tokenizer->encode(text, "fuzz") != ids) __builtin_trap();  // from the cache now
  } catch (const gpt2::InputError& e) {
    const std::string expected = "fuzz: invalid UTF-8 at byte offset " + std::to_string(bad) + " ";
    if (std::string(e.what()).rfind(expected, 0) != 0) __builtin_trap();
  }
  return 0;
}
