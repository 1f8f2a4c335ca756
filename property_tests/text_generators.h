// Random text for GPT-2's tokenizer (property_tests/tokenizer_test.cpp):
// well-formed UTF-8 made of pieces of the kinds that GPT-2's pattern and
// merges treat differently: ASCII words and punctuation, digit runs,
// whitespace runs (ASCII and Unicode spaces, line breaks), contractions
// ("'ll", "'S", "’s"), accented Latin, combining marks, Greek, Cyrillic,
// Hebrew, Arabic, Devanagari, Thai, CJK, kana, Hangul, emoji (with ZWJ, skin
// tones, variation selectors, flags), numbers beyond ASCII digits (Arabic-
// Indic, fullwidth, superscripts, fractions, Roman numerals), symbols and
// control characters, each run optionally led by a space.
//
// Shrinking removes pieces, shortens runs, drops the leading space and moves
// characters toward the first of their pool (ASCII where there is one), so a
// counterexample ends as a few characters.
#pragma once

#include <rapidcheck.h>

#include <string>

namespace gpt2::properties {

enum class TextRange {
  // Characters on which GPT-2's tokenizer (Python's `regex` module) and
  // JavaScript agree: every character assigned by Unicode 14.0 (PCRE2
  // 10.42's tables; newer characters are letters or numbers to newer
  // engines and "other" here), and neither U+0085 NEXT LINE (whitespace for
  // Python, not for JavaScript's \s) nor U+FEFF (the reverse).
  agreed_with_javascript,
  // Also U+0085, U+FEFF and any code point (unassigned, private use,
  // noncharacters, every plane), for what holds of any text.
  any_utf8,
};

// Texts of 1 to 10 pieces, each of 1 to 6 characters or a fixed string
// (a contraction, "<|endoftext|>", "\r\n", ...). Always well-formed UTF-8.
rc::Gen<std::string> gen_gpt2_text(TextRange range);

}  // namespace gpt2::properties
