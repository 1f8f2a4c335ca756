// libFuzzer target: fixture case.json parsing and its digest. Any input must
// give a Case or an InputError; nothing else (no crash, no other exception,
// no sanitizer report). An input that parses as a case also goes through
// the digest (fixtures/case_digest.h), which must find it unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fixtures/case.h"
#include "fixtures/case_digest.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpt2::fixtures;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)case_from_json(text, "fuzz/case.json");
    const std::string digest = case_digest_json(text, "fuzz/case.json");
    if (!changed_fields(text, digest, "fuzz/case.json", "fuzz/case.digest.json").empty())
      __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
