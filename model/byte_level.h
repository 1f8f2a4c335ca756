// GPT-2's byte-level alphabet: every byte 0..255 stands for one printable
// Unicode character, so that a token's bytes can be written as a string in
// vocab.json and merges.txt (openai/gpt-2 encoder.py, bytes_to_unicode).
//
// The 188 bytes that are printable Latin-1 characters ('!'..'~', '¡'..'¬',
// '®'..'ÿ') stand for themselves; the other 68 (controls, space, DEL, NBSP,
// soft hyphen) stand for U+0100, U+0101, ... in byte order: space (0x20) is
// 'Ġ' (U+0120), newline (0x0A) is 'Ċ' (U+010A).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gpt2 {

// The code point that stands for `byte` (bytes_to_unicode()[byte]).
char32_t byte_to_symbol(uint8_t byte);

// The byte that `symbol` stands for; nullopt when `symbol` is not one of the
// 256 characters of the alphabet.
std::optional<uint8_t> symbol_to_byte(char32_t symbol);

// `bytes` written in the alphabet: one character (as UTF-8) per byte.
std::string bytes_to_symbols(std::string_view bytes);

// The bytes that the alphabet string `symbols` (UTF-8) stands for. nullopt
// when `symbols` is not well-formed UTF-8 or holds a character outside the
// alphabet; then `*bad_character`, when given, is the offset of the first
// offending character in `symbols`.
std::optional<std::string> symbols_to_bytes(std::string_view symbols,
                                            size_t* bad_character = nullptr);

}  // namespace gpt2
