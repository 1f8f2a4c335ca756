// libFuzzer target: the safetensors reader. Any input must either parse, with
// every tensor readable, or give one InputError whose message is a single
// line naming the source; nothing else (no crash, no hang, no other
// exception, no sanitizer report). A file that parses must also survive a
// round trip through the writer (as F64) with every value bit-identical.
// Each input is tried as is and with its header length fitted to its JSON.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "model/error.h"
#include "model/safetensors.h"

namespace {

constexpr const char* kSource = "fuzz.safetensors";

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "safetensors_fuzz: %s\n", why.c_str());
  std::abort();
}

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::bit_cast<uint64_t>(a[i]) != std::bit_cast<uint64_t>(b[i])) return false;
  return true;
}

// Writes every tensor as F64 and reads the result back. Skipped when a
// zero-element tensor has a dimension so large that 8-byte elements would
// overflow the writer's size check (legal in the input, which may be F16).
void check_round_trip(const gpt2::SafetensorsFile& file,
                      const std::vector<std::vector<double>>& values) {
  std::vector<gpt2::TensorToWrite> tensors;
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const gpt2::TensorInfo& info = file.tensors()[i];
    for (int64_t d : info.shape)
      if (d > (int64_t{1} << 40)) return;
    tensors.push_back({info.name, gpt2::Dtype::F64, info.shape,
                       values[i].empty() ? nullptr : values[i].data(), nullptr});
  }
  const std::string bytes = gpt2::serialize_safetensors(tensors, file.metadata());
  gpt2::SafetensorsFile back = [&] {
    try {
      return gpt2::SafetensorsFile::parse(bytes, "round trip");
    } catch (const gpt2::InputError& e) {
      fail(std::string("writer output rejected: ") + e.what());
    }
  }();
  if (back.metadata() != file.metadata()) fail("metadata changed in the round trip");
  if (back.tensors().size() != file.tensors().size()) fail("tensor count changed");
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const gpt2::TensorInfo& info = file.tensors()[i];
    const gpt2::TensorInfo* other = back.find(info.name);
    if (other == nullptr || other->shape != info.shape) fail("tensor lost or reshaped");
    if (!same_bits(back.read_f64(info.name), values[i])) fail("values changed in the round trip");
  }
}

// The same bytes with the header length rewritten to end the header at the
// last '}' before the first NUL byte. Most mutations of the JSON change its
// length; without this, nearly every mutated input would die at "header
// length" or at an unterminated string, and the checks behind the JSON
// parser would go unexercised. nullopt when there is no such '}'.
std::optional<std::string> with_fitted_header_length(const std::string& bytes) {
  if (bytes.size() < 8) return std::nullopt;
  const size_t nul = bytes.find('\0', 8);
  const size_t close = bytes.rfind('}', nul == std::string::npos ? std::string::npos : nul);
  if (close == std::string::npos || close < 8) return std::nullopt;
  std::string fitted = bytes;
  const uint64_t length = close + 1 - 8;
  for (int i = 0; i < 8; ++i) fitted[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return fitted;
}

void check_one(std::string bytes) {
  try {
    const gpt2::SafetensorsFile file = gpt2::SafetensorsFile::parse(std::move(bytes), kSource);
    std::vector<std::vector<double>> values;
    for (const gpt2::TensorInfo& info : file.tensors()) {
      values.push_back(file.read_f64(info.name));
      const std::vector<float> as_float = file.read_f32(info.name);
      if (as_float.size() != values.back().size()) fail("read_f32 and read_f64 sizes differ");
      if (static_cast<int64_t>(values.back().size()) != gpt2::element_count(info.shape))
        fail("element count differs from the shape");
    }
    check_round_trip(file, values);
  } catch (const gpt2::InputError& e) {
    const std::string message = e.what();
    if (message.rfind(std::string(kSource) + ": ", 0) != 0)
      fail("message does not start with the source: " + message);
    if (message.find('\n') != std::string::npos) fail("message spans lines: " + message);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  check_one(bytes);
  if (std::optional<std::string> fitted = with_fitted_header_length(bytes))
    check_one(std::move(*fitted));
  return 0;
}
