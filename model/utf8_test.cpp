#include "model/utf8.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

constexpr size_t kValid = std::string_view::npos;

TEST(Utf8, AcceptsEveryLengthUpToTheLastCodePoint) {
  EXPECT_EQ(find_invalid_utf8(""), kValid);
  EXPECT_EQ(find_invalid_utf8("plain ASCII\x7f"), kValid);
  EXPECT_EQ(find_invalid_utf8("\xc2\x80 \xdf\xbf"), kValid);          // U+0080, U+07FF
  EXPECT_EQ(find_invalid_utf8("\xe0\xa0\x80 \xef\xbf\xbf"), kValid);  // U+0800, U+FFFF
  EXPECT_EQ(find_invalid_utf8("\xed\x9f\xbf \xee\x80\x80"), kValid);  // around the surrogates
  EXPECT_EQ(find_invalid_utf8("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"), kValid);  // U+10000, U+10FFFF
  EXPECT_EQ(find_invalid_utf8(std::string("a\0b", 3)), kValid);               // NUL is a character
}

TEST(Utf8, RejectsOverlongSurrogatesBeyondTheRangeAndCutSequences) {
  EXPECT_EQ(find_invalid_utf8("ab\xc0\x80"), 2u);        // overlong NUL
  EXPECT_EQ(find_invalid_utf8("\xc1\xbf"), 0u);          // overlong U+007F
  EXPECT_EQ(find_invalid_utf8("x\xe0\x9f\xbf"), 1u);     // overlong U+07FF
  EXPECT_EQ(find_invalid_utf8("\xf0\x8f\xbf\xbf"), 0u);  // overlong U+FFFF
  EXPECT_EQ(find_invalid_utf8("ok \xed\xa0\x80"), 3u);   // U+D800, a surrogate
  EXPECT_EQ(find_invalid_utf8("\xf4\x90\x80\x80"), 0u);  // U+110000
  EXPECT_EQ(find_invalid_utf8("\xf5\x80\x80\x80"), 0u);  // no such lead byte
  EXPECT_EQ(find_invalid_utf8("abc\x80"), 3u);           // a lone continuation byte
  EXPECT_EQ(find_invalid_utf8("\xe2\x82"), 0u);          // cut by the end
  EXPECT_EQ(find_invalid_utf8("\xe2\x82x"), 0u);         // cut by another character
  EXPECT_EQ(find_invalid_utf8("\xc3\xa9\xff"), 2u);      // after a good one
}

TEST(Utf8, RequireUtf8NamesTheSourceOffsetAndByte) {
  try {
    require_utf8("caf\xc3\xa9 \xff", "--text");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "--text: invalid UTF-8 at byte offset 6 (0xff)");
  }
  EXPECT_NO_THROW(require_utf8("caf\xc3\xa9", "--text"));
}

TEST(Utf8, DisplayReplacesEachMaximalSubpartOnce) {
  // The example of the Unicode Standard, section 3.9 (U+FFFD substitution of
  // maximal subparts), which Python's decode(errors="replace") gives too.
  EXPECT_EQ(utf8_for_display("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64"),
            "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
            "b\xef\xbf\xbd"
            "c\xef\xbf\xbd\xef\xbf\xbd"
            "d");
  EXPECT_EQ(utf8_for_display("\xe4\xb8"), "\xef\xbf\xbd");  // half of a CJK character
  EXPECT_EQ(utf8_for_display("\xe4\xb8\x96"), "\xe4\xb8\x96");
  // E0 80 is no prefix of any sequence: each byte is its own subpart.
  EXPECT_EQ(utf8_for_display("\xe0\x80\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(Utf8, QuotedForDisplayStaysOnOneLine) {
  EXPECT_EQ(quoted_for_display("Hello, world"), "\"Hello, world\"");
  EXPECT_EQ(quoted_for_display("a\nb\t\"c\"\\"), "\"a\\nb\\t\\\"c\\\"\\\\\"");
  EXPECT_EQ(quoted_for_display(std::string("\0\x1f\x7f", 3)), "\"\\u0000\\u001f\\u007f\"");
  EXPECT_EQ(quoted_for_display("\xc2\x85 \xc2\xa0"), "\"\\u0085 \xc2\xa0\"");  // C1 NEL; NBSP kept
  EXPECT_EQ(quoted_for_display("\xff"), "\"\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace gpt2
