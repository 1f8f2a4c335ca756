#include "model/byte_level.h"

#include <gtest/gtest.h>

#include <set>

namespace gpt2 {
namespace {

TEST(ByteLevel, PrintableLatin1StandsForItselfAndTheRestFollowsU0100) {
  EXPECT_EQ(byte_to_symbol('!'), U'!');
  EXPECT_EQ(byte_to_symbol('~'), U'~');
  EXPECT_EQ(byte_to_symbol(0xa1), U'\u00a1');
  EXPECT_EQ(byte_to_symbol(0xff), U'\u00ff');
  // The 68 others in byte order from U+0100: 0x00..0x20, 0x7f..0xa0, 0xad.
  EXPECT_EQ(byte_to_symbol(0x00), U'\u0100');
  EXPECT_EQ(byte_to_symbol('\n'), U'\u010a');  // 'Ċ'
  EXPECT_EQ(byte_to_symbol(' '), U'\u0120');   // 'Ġ'
  EXPECT_EQ(byte_to_symbol(0x7f), U'\u0121');
  EXPECT_EQ(byte_to_symbol(0xa0), U'\u0142');
  EXPECT_EQ(byte_to_symbol(0xad), U'\u0143');
}

TEST(ByteLevel, TheAlphabetIsABijectionOf256Characters) {
  std::set<char32_t> symbols;
  for (int b = 0; b < 256; ++b) {
    const char32_t s = byte_to_symbol(static_cast<uint8_t>(b));
    symbols.insert(s);
    ASSERT_EQ(symbol_to_byte(s), b);
  }
  EXPECT_EQ(symbols.size(), 256u);
  EXPECT_FALSE(symbol_to_byte(U' '));       // space is written 'Ġ'
  EXPECT_FALSE(symbol_to_byte(U'\u00ad'));  // soft hyphen too is replaced
  EXPECT_FALSE(symbol_to_byte(U'\u0144'));  // one past the last
  EXPECT_FALSE(symbol_to_byte(U'\u4e16'));
}

TEST(ByteLevel, StringsRoundTripAndForeignCharactersAreLocated) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(symbols_to_bytes(bytes_to_symbols(all)), all);
  EXPECT_EQ(bytes_to_symbols(" the"), "\xc4\xa0the");  // "Ġthe"
  EXPECT_EQ(symbols_to_bytes("\xc4\xa0world"), " world");
  size_t bad = 99;
  EXPECT_FALSE(symbols_to_bytes("ab c", &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(symbols_to_bytes("a\xe4\xb8\x96", &bad));  // U+4E16
  EXPECT_EQ(bad, 1u);
  EXPECT_FALSE(symbols_to_bytes("\xff", &bad));  // not UTF-8 at all
  EXPECT_EQ(bad, 0u);
}

}  // namespace
}  // namespace gpt2
