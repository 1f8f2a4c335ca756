// UTF-8 as the Unicode Standard defines it (chapter 3, table 3-7, "Well-Formed
// UTF-8 Byte Sequences"): no overlong forms, no surrogates (U+D800..U+DFFF),
// nothing above U+10FFFF.
//
// Text given to the tokenizer must be well-formed; bytes decoded from token
// ids need not be (a token may hold half of a character), and stay bytes: only
// what is shown to a person replaces the ill-formed parts, never what is kept.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace gpt2 {

// The length of the well-formed UTF-8 sequence starting at bytes[offset], or
// 0 when the bytes there do not start one (or it is cut off by the end).
size_t utf8_sequence_length(std::string_view bytes, size_t offset);

// The offset of the first byte that is not part of a well-formed sequence,
// or std::string_view::npos when all of `bytes` is well-formed UTF-8.
size_t find_invalid_utf8(std::string_view bytes);

// Throws InputError "<source>: invalid UTF-8 at byte offset N (0xNN)" unless
// `bytes` is well-formed.
void require_utf8(std::string_view bytes, const std::string& source);

// For display only: `bytes` with every maximal ill-formed subpart replaced by
// U+FFFD (the "substitution of maximal subparts" practice of the Unicode
// Standard, chapter 3.9, which WHATWG's decoder and Python's
// errors="replace" follow).
std::string utf8_for_display(std::string_view bytes);

// For display on one line: utf8_for_display(bytes) in double quotes, with
// '"', '\' and the control characters (C0, DEL, C1) escaped as in JSON
// (\n, \t, \r, \", \\, else \u00XX).
std::string quoted_for_display(std::string_view bytes);

}  // namespace gpt2
