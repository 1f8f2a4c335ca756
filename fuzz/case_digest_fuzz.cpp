// libFuzzer target: case.json's digest file (fixtures/case_digest.h). Each
// input is read two ways: as a case.digest.json checked against a fixed
// case.json, which must give a list of changed fields or an InputError; and
// as a case.json, whose digest, once made, must find that same text
// unchanged. Nothing else: no crash, no other exception, no sanitizer report.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fixtures/case_digest.h"
#include "model/error.h"

namespace {

// A case.json in miniature: objects, an array of objects, scalar arrays.
const std::string kCaseJson =
    R"({"format_version": 1, "config": {"n_layer": 1, "n_embd": 2}, "tokens": [1, 2],)"
    R"( "mask": "causal", "tensors": [{"name": "embed", "k": 2.0, "gain": null},)"
    R"( {"name": "logits", "k": 2.0, "gain": 0.5}], "files": {"expected.safetensors": "00"}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace gpt2::fixtures;
  const std::string input(reinterpret_cast<const char*>(data), size);
  try {
    (void)changed_fields(kCaseJson, input, "case.json", "fuzz/case.digest.json");
  } catch (const gpt2::InputError&) {
  }
  try {
    const std::string digest = case_digest_json(input, "fuzz/case.json");
    if (!changed_fields(input, digest, "fuzz/case.json", "fuzz/case.digest.json").empty())
      __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
