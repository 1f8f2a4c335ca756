// GPT-2's pre-tokenization: the text is cut into pieces by one regular
// expression before byte-pair encoding, and no merge crosses a piece
// (openai/gpt-2 encoder.py, with Python's `regex` module):
//
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// English contractions; letters, numbers and other characters, each run with
// at most one space in front; whitespace runs, of which the last whitespace
// character before a non-space is left to start the next piece. The
// alternatives cover every character, so the pieces cover the whole text.
//
// Run here with PCRE2 (UTF mode, JIT where available). `\s` is spelled
// \p{White_Space}: that is what the `regex` module's \s matches (the Unicode
// White_Space property, 25 code points), while PCRE2's \s under PCRE2_UCP also
// matches U+180E MONGOLIAN VOWEL SEPARATOR (a space until Unicode 6.3, a
// format character since) and JavaScript's \s matches U+FEFF but not U+0085.
// Letters and numbers are Unicode general categories L and N as PCRE2's tables
// know them (Unicode 14.0 in PCRE2 10.42): characters first assigned in
// Unicode 15.0 or later are "other" here, letters or numbers for a `regex`
// module or JavaScript engine with newer tables.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

namespace gpt2 {

class Gpt2Pretokenizer {
 public:
  Gpt2Pretokenizer();  // compiles the pattern (InternalError if PCRE2 refuses it)
  ~Gpt2Pretokenizer();
  Gpt2Pretokenizer(Gpt2Pretokenizer&&) noexcept;
  Gpt2Pretokenizer& operator=(Gpt2Pretokenizer&&) noexcept;

  // Calls `piece` for each piece of `text`, in order; the pieces concatenate
  // to `text`. `text` must be well-formed UTF-8 (the caller checks it: see
  // require_utf8). Not thread-safe (one match buffer per object).
  void split(std::string_view text, const std::function<void(std::string_view)>& piece);

  // The pattern as PCRE2 compiles it.
  static const char* pattern();

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace gpt2
