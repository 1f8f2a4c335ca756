// Text helpers of the oracle's reports: numbers, wrapped paragraphs, padded
// cells and token labels for the reports people read (mask-ablation and
// mask-ablation --padding), and XML escaping for the JUnit reports and SVGs.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "model/error.h"
#include "model/utf8.h"
#include "reference/reference.h"

namespace gpt2::oracle::report_text {

// x in scientific notation with `digits` decimals; exactly "0" for zero.
inline std::string sci(double x, int digits = 1) {
  if (x == 0) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*e", digits, x);
  return buf;
}

// "50 digits", "float32", ...: a precision in words.
inline std::string precision_words(reference::Precision p) {
  switch (p) {
    case reference::Precision::f32:
      return "float32";
    case reference::Precision::f64:
      return "float64";
    case reference::Precision::digits50:
      return "50 digits";
    case reference::Precision::digits100:
      return "100 digits";
    case reference::Precision::dd:
      return "double-double";
  }
  GPT2_CHECK(false, "unknown Precision");
}

// Breaks a paragraph into lines of at most `width` characters, at spaces.
inline std::string wrap(const std::string& text, size_t width = 100) {
  std::string out, line;
  size_t start = 0;
  while (start <= text.size()) {
    size_t space = text.find(' ', start);
    if (space == std::string::npos) space = text.size();
    const std::string word = text.substr(start, space - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = space + 1;
  }
  return out + line + "\n";
}

inline std::string pad_left(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}
inline std::string pad_right(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// A token's text as a label of at most `max_characters` characters: quoted
// on one line (model/utf8.h) and, when longer, cut with "…" as its last
// character. Characters are counted as code points, which a terminal shows
// one column wide except wide CJK and combining marks. `*characters` (when
// given) receives the label's length in characters.
inline std::string token_label(const std::string& text, size_t max_characters,
                               size_t* characters = nullptr) {
  std::string quoted = quoted_for_display(text);
  std::vector<size_t> starts;  // byte offset of each character
  for (size_t i = 0; i < quoted.size(); ++i)
    if ((static_cast<unsigned char>(quoted[i]) & 0xc0) != 0x80) starts.push_back(i);
  if (starts.size() <= max_characters) {
    if (characters) *characters = starts.size();
    return quoted;
  }
  if (characters) *characters = max_characters;
  return quoted.substr(0, starts[max_characters - 1]) + "\xe2\x80\xa6";  // "…"
}

// The label padded on the left to a column of `width` (one space kept).
inline std::string token_cell(const std::string& text, size_t width) {
  size_t characters = 0;
  const std::string label = token_label(text, width - 1, &characters);
  return std::string(width - characters, ' ') + label;
}

// "position 3" or "positions 0-6".
inline std::string positions_text(int first, int last) {
  if (first == last) return "position " + std::to_string(first);
  return "positions " + std::to_string(first) + "-" + std::to_string(last);
}

// "a, b and c" (with last_separator " and ").
inline std::string join(const std::vector<std::string>& items, const std::string& last_separator) {
  std::string s;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) s += i + 1 == items.size() ? last_separator : ", ";
    s += items[i];
  }
  return s;
}

// Text with &, <, >, " and ' escaped for XML (JUnit reports, SVG), and the
// control characters XML 1.0 does not allow dropped.
inline std::string xml_escape(const std::string& text) {
  std::string s;
  for (char c : text) {
    switch (c) {
      case '&':
        s += "&amp;";
        break;
      case '<':
        s += "&lt;";
        break;
      case '>':
        s += "&gt;";
        break;
      case '"':
        s += "&quot;";
        break;
      case '\'':
        s += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and return.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n' || c == '\r') s += c;
    }
  }
  return s;
}

}  // namespace gpt2::oracle::report_text
