#include "model/byte_level.h"

#include <array>

#include "model/utf8.h"

namespace gpt2 {

namespace {

// bytes_to_unicode() of openai/gpt-2 encoder.py:
//   bs = list(range(ord("!"), ord("~")+1)) + list(range(ord("¡"), ord("¬")+1))
//        + list(range(ord("®"), ord("ÿ")+1))
//   cs = bs[:]; n = 0
//   for b in range(2**8):
//       if b not in bs: bs.append(b); cs.append(2**8+n); n += 1
bool stands_for_itself(int byte) {
  return (byte >= '!' && byte <= '~') || (byte >= 0xa1 && byte <= 0xac) ||
         (byte >= 0xae && byte <= 0xff);
}

struct Alphabet {
  std::array<char32_t, 256> symbol_of_byte{};
  // Every symbol is below U+0144 (256 + 68), so the inverse is a table too.
  static constexpr char32_t kEnd = 0x144;
  std::array<int16_t, kEnd> byte_of_symbol{};

  Alphabet() {
    byte_of_symbol.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b)
      symbol_of_byte[b] = stands_for_itself(b) ? static_cast<char32_t>(b) : next++;
    for (int b = 0; b < 256; ++b) byte_of_symbol[symbol_of_byte[b]] = static_cast<int16_t>(b);
  }
};

const Alphabet& alphabet() {
  static const Alphabet kAlphabet;
  return kAlphabet;
}

void append_utf8(std::string& out, char32_t c) {
  // Only code points below U+0800 occur here (the alphabet ends at U+0143).
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

}  // namespace

char32_t byte_to_symbol(uint8_t byte) { return alphabet().symbol_of_byte[byte]; }

std::optional<uint8_t> symbol_to_byte(char32_t symbol) {
  if (symbol >= Alphabet::kEnd) return std::nullopt;
  const int16_t b = alphabet().byte_of_symbol[symbol];
  if (b < 0) return std::nullopt;
  return static_cast<uint8_t>(b);
}

std::string bytes_to_symbols(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes) append_utf8(out, byte_to_symbol(static_cast<uint8_t>(b)));
  return out;
}

std::optional<std::string> symbols_to_bytes(std::string_view symbols, size_t* bad_character) {
  std::string bytes;
  bytes.reserve(symbols.size());
  size_t i = 0;
  while (i < symbols.size()) {
    const size_t n = utf8_sequence_length(symbols, i);
    std::optional<uint8_t> byte;
    if (n == 1) {
      byte = symbol_to_byte(static_cast<uint8_t>(symbols[i]));
    } else if (n == 2) {
      const char32_t c = (char32_t(symbols[i] & 0x1f) << 6) | char32_t(symbols[i + 1] & 0x3f);
      byte = symbol_to_byte(c);
    }  // 0 (ill-formed) or 3-4 bytes (U+0800 and above): not in the alphabet
    if (!byte) {
      if (bad_character) *bad_character = i;
      return std::nullopt;
    }
    bytes += static_cast<char>(*byte);
    i += n;
  }
  return bytes;
}

}  // namespace gpt2
