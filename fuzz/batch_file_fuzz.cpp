// libFuzzer target: batch files (one token list per line). Any input must
// give rows that validate against the config and print back to the same
// rows, or an InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/batch.h"
#include "model/config.h"
#include "model/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const gpt2::Config config = gpt2::make_config(1, 1, 4, 32, 50257);
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto rows = gpt2::parse_batch_file(text, config, "fuzz");
    gpt2::validate_batch(rows, config, "fuzz");
    if (gpt2::parse_batch_file(gpt2::format_batch_file(rows), config, "fuzz") != rows)
      __builtin_trap();
    const gpt2::BatchLayout layout(gpt2::row_lengths(rows), gpt2::Padding::left);
    if (layout.padded(rows).size() != size_t(layout.rows()) * layout.width()) __builtin_trap();
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
