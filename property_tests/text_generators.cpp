#include "property_tests/text_generators.h"

#include <cstdint>
#include <vector>

namespace gpt2::properties {

namespace {

struct CodePoints {
  uint32_t first, last;  // inclusive
};
using Pool = std::vector<CodePoints>;

// Every pool lies in blocks fully assigned long before Unicode 14.0, so its
// characters have the same general category in PCRE2 10.42, Python's
// `regex` and any JavaScript engine with Unicode property escapes.
const Pool kAsciiLetters = {{'a', 'z'}, {'A', 'Z'}};
const Pool kAsciiDigits = {{'0', '9'}};
const Pool kAsciiPunctuation = {{'!', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}};
// White_Space, except U+0085 (below).
const Pool kWhitespace = {{' ', ' '},       {'\t', '\r'},     {0xa0, 0xa0},
                          {0x1680, 0x1680}, {0x2000, 0x200a}, {0x2028, 0x2029},
                          {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}};
const Pool kAccentedLatin = {{0xc0, 0xd6}, {0xd8, 0xf6}, {0xf8, 0x17f}};
const Pool kCombiningMarks = {{0x300, 0x36f}};  // Mn: "other" to the pattern
const Pool kOtherScripts = {
    {0x391, 0x3a1}, {0x3a3, 0x3c9},  // Greek
    {0x410, 0x44f},                  // Cyrillic
    {0x5d0, 0x5ea},                  // Hebrew
    {0x621, 0x64a},                  // Arabic
    {0x905, 0x939}, {0x93e, 0x94c},  // Devanagari letters, vowel signs (Mc, Mn)
    {0xe01, 0xe30},                  // Thai
};
const Pool kCjk = {
    {0x4e00, 0x9fa5},                    // CJK unified ideographs (Unicode 1.1)
    {0x3041, 0x3096}, {0x30a1, 0x30fa},  // hiragana, katakana
    {0xac00, 0xd7a3},                    // Hangul syllables
    {0x3001, 0x3003}, {0x300c, 0x300f},  // CJK punctuation
    {0xff01, 0xff5e},                    // fullwidth forms
};
const Pool kEmoji = {
    {0x1f300, 0x1f5ff}, {0x1f600, 0x1f64f}, {0x1f680, 0x1f6c5},
    {0x2600, 0x26ff},   {0x1f3fb, 0x1f3ff},  // skin tones
    {0x200d, 0x200d},                        // zero width joiner
    {0xfe0f, 0xfe0f},                        // variation selector 16
    {0x1f1e6, 0x1f1ff},                      // regional indicators (flags)
};
const Pool kNumbersBeyondAscii = {
    {0x660, 0x669},   {0x966, 0x96f},
    {0xff10, 0xff19},  // Nd: Arabic-Indic, Devanagari, fullwidth
    {0xb2, 0xb3},     {0xb9, 0xb9},
    {0xbc, 0xbe},  // No: superscripts, fractions
    {0x2070, 0x2070}, {0x2074, 0x2079},
    {0x2460, 0x249b},  // No: superscripts, circled
    {0x2160, 0x2188},  // Nl: Roman numerals
};
const Pool kSymbols = {
    {0x20ac, 0x20ac}, {0xa9, 0xa9},     {0xae, 0xae},     {0x2122, 0x2122}, {0x2190, 0x21ff},
    {0x2200, 0x22ff}, {0x2018, 0x201f}, {0x2022, 0x2022}, {0x2026, 0x2026}, {0xab, 0xab},
    {0xbb, 0xbb},     {0xa1, 0xa1},     {0xbf, 0xbf},     {0xad, 0xad},  // soft hyphen (Cf)
};
const Pool kControls = {{0x00, 0x1f}, {0x7f, 0x84}, {0x86, 0x9f}};  // without U+0085
// Where JavaScript's \s and the White_Space property disagree.
const Pool kJavaScriptDisagrees = {{0x85, 0x85}, {0xfeff, 0xfeff}};

const std::vector<std::string> kFixedPieces = {
    "'s",
    "'t",
    "'re",
    "'ve",
    "'m",
    "'ll",
    "'d",  // GPT-2's contractions
    "'S",
    "'LL",
    "'Re",
    "\xe2\x80\x99s",  // not contractions: capitals, U+2019
    "'",
    "''",
    "'x",
    " '",
    "<|endoftext|>",
    "\r\n",
    "  ",
    " \n ",
    "\n\n",
    "...",
    "https://x.y/z",
};

void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

rc::Gen<uint32_t> gen_code_point(const Pool& pool) {
  return rc::gen::mapcat(rc::gen::elementOf(pool), [](const CodePoints& range) {
    return rc::gen::inRange<uint32_t>(range.first, range.last + 1);
  });
}

// Any scalar value: every plane, surrogates moved out of the way.
rc::Gen<uint32_t> gen_any_code_point() {
  return rc::gen::map(rc::gen::inRange<uint32_t>(0, 0x110000 - 0x800),
                      [](uint32_t c) { return c >= 0xd800 ? c + 0x800 : c; });
}

// `count` values of `element`, for a count drawn from [min, max].
template <class T>
rc::Gen<std::vector<T>> gen_some(size_t min, size_t max, rc::Gen<T> element) {
  return rc::gen::mapcat(rc::gen::inRange<size_t>(min, max + 1), [element](size_t count) {
    return rc::gen::container<std::vector<T>>(count, element);
  });
}

// 1 to 6 characters of one pool, optionally after a space.
rc::Gen<std::string> gen_run(rc::Gen<uint32_t> character) {
  return rc::gen::apply(
      [](bool leading_space, const std::vector<uint32_t>& characters) {
        std::string s = leading_space ? " " : "";
        for (uint32_t c : characters) append_utf8(s, c);
        return s;
      },
      rc::gen::arbitrary<bool>(), gen_some(1, 6, character));
}

rc::Gen<std::string> gen_piece(TextRange range) {
  std::vector<rc::Gen<std::string>> kinds = {
      gen_run(gen_code_point(kAsciiLetters)),
      gen_run(gen_code_point(kAsciiDigits)),
      gen_run(gen_code_point(kWhitespace)),
      gen_run(gen_code_point(kAsciiPunctuation)),
      rc::gen::elementOf(kFixedPieces),
      gen_run(gen_code_point(kAccentedLatin)),
      gen_run(gen_code_point(kCombiningMarks)),
      gen_run(gen_code_point(kOtherScripts)),
      gen_run(gen_code_point(kCjk)),
      gen_run(gen_code_point(kEmoji)),
      gen_run(gen_code_point(kNumbersBeyondAscii)),
      gen_run(gen_code_point(kSymbols)),
      gen_run(gen_code_point(kControls)),
  };
  if (range == TextRange::any_utf8) {
    kinds.push_back(gen_run(gen_code_point(kJavaScriptDisagrees)));
    kinds.push_back(gen_run(gen_any_code_point()));
  }
  // A letter run after a combining mark, a digit after a letter...: the
  // pieces interleave freely.
  return rc::gen::mapcat(rc::gen::inRange<size_t>(0, kinds.size()),
                         [kinds](size_t kind) { return kinds[kind]; });
}

}  // namespace

rc::Gen<std::string> gen_gpt2_text(TextRange range) {
  // RapidCheck's inRange covers less of its range at small sizes; the
  // characters and lengths here should not depend on the size (the caller's
  // batch may), so they are drawn at the nominal size.
  return rc::gen::resize(rc::kNominalSize, rc::gen::map(gen_some(1, 10, gen_piece(range)),
                                                        [](const std::vector<std::string>& pieces) {
                                                          std::string text;
                                                          for (const std::string& p : pieces)
                                                            text += p;
                                                          return text;
                                                        }));
}

}  // namespace gpt2::properties
