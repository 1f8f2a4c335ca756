// libFuzzer target: fixture case.json parsing. Any input must give a Case
// or an InputError; nothing else (no crash, no other exception, no
// sanitizer report).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fixtures/case.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)gpt2::fixtures::case_from_json(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz/case.json");
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
