#include "model/utf8.h"

#include <cstdint>

#include "model/error.h"

namespace gpt2 {

namespace {

// How far the bytes at `offset` follow one row of the Unicode Standard's
// table 3-7: `matched` bytes agree with the row that the first byte selects,
// which needs `needed` bytes in all. matched == needed is a well-formed
// sequence; 0 < matched < needed is a maximal ill-formed subpart (cut short);
// matched == 0 is a byte that starts no sequence.
struct Prefix {
  size_t matched = 0;
  size_t needed = 1;
};

Prefix match_table_3_7(std::string_view bytes, size_t offset) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(bytes[offset + i]); };
  const uint8_t lead = byte(0);
  if (lead <= 0x7f) return {1, 1};
  // The allowed range of the second byte depends on the first (this is what
  // excludes overlong forms, surrogates and code points above U+10FFFF); the
  // later bytes are always 80..BF.
  uint8_t second_low = 0x80, second_high = 0xbf;
  size_t needed = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    needed = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    needed = 3;
    if (lead == 0xe0) second_low = 0xa0;
    if (lead == 0xed) second_high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    needed = 4;
    if (lead == 0xf0) second_low = 0x90;
    if (lead == 0xf4) second_high = 0x8f;
  } else {
    return {0, 1};  // 80..C1, F5..FF start nothing
  }
  size_t matched = 1;
  for (; matched < needed && offset + matched < bytes.size(); ++matched) {
    const uint8_t b = byte(matched);
    const uint8_t low = matched == 1 ? second_low : 0x80;
    const uint8_t high = matched == 1 ? second_high : 0xbf;
    if (b < low || b > high) break;
  }
  return {matched, needed};
}

}  // namespace

size_t utf8_sequence_length(std::string_view bytes, size_t offset) {
  const Prefix p = match_table_3_7(bytes, offset);
  return p.matched == p.needed ? p.needed : 0;
}

size_t find_invalid_utf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (static_cast<uint8_t>(bytes[i]) <= 0x7f) {  // the common case, one byte
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(bytes, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

void require_utf8(std::string_view bytes, const std::string& source) {
  const size_t bad = find_invalid_utf8(bytes);
  if (bad == std::string_view::npos) return;
  static const char kHex[] = "0123456789abcdef";
  const auto b = static_cast<uint8_t>(bytes[bad]);
  throw InputError(source + ": invalid UTF-8 at byte offset " + std::to_string(bad) + " (0x" +
                   kHex[b >> 4] + kHex[b & 15] + ")");
}

std::string utf8_for_display(std::string_view bytes) {
  static constexpr std::string_view kReplacement = "\xef\xbf\xbd";  // U+FFFD
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const Prefix p = match_table_3_7(bytes, i);
    if (p.matched == p.needed) {
      out.append(bytes.substr(i, p.needed));
      i += p.needed;
    } else {
      out.append(kReplacement);  // one per maximal subpart
      i += p.matched == 0 ? 1 : p.matched;
    }
  }
  return out;
}

std::string quoted_for_display(std::string_view bytes) {
  const std::string text = utf8_for_display(bytes);
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (c == 0xc2 && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) <= 0x9f) {
      // U+0080..U+009F (C1 controls), two bytes C2 80..C2 9F.
      const auto low = static_cast<uint8_t>(text[++i]);
      out += "\\u00";
      out += kHex[low >> 4];
      out += kHex[low & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace gpt2
