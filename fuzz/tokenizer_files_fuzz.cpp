// libFuzzer target: a tokenizer's two files, vocab.json and merges.txt
// (model/tokenizer_files.h). The input is vocab.json, then a NUL byte, then
// merges.txt (no NUL: merges.txt is empty). Any input must give a tokenizer
// or an InputError; a tokenizer must then encode text to ids of its
// vocabulary that decode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/error.h"
#include "model/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t separator = input.find('\0');
  const std::string_view vocab = input.substr(0, separator);
  const std::string_view merges =
      separator == std::string_view::npos ? std::string_view() : input.substr(separator + 1);
  constexpr int kVocabSize = 600;  // room for the 256 byte tokens and a few hundred merges
  try {
    gpt2::Gpt2Tokenizer tokenizer(
        gpt2::parse_bpe_vocabulary(vocab, "vocab.json", merges, "merges.txt", kVocabSize));
    for (const std::string text : std::vector<std::string>{
             "Hello, world! It's 2024.", "  aaa   bbb\n\n", "\xe6\xbc\xa2 \xf0\x9f\x98\x80",
             std::string(merges.substr(0, 64))}) {
      std::vector<int> ids;
      try {
        ids = tokenizer.encode(text);
      } catch (const gpt2::InputError&) {
        continue;  // the merges' bytes need not be UTF-8
      }
      for (int id : ids)
        if (!tokenizer.has_token(id)) __builtin_trap();
      if (tokenizer.decode(ids) != text) __builtin_trap();
    }
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
