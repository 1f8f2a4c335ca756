#include "model/tokens.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

Config small_config() { return make_config(1, 1, 4, 4, 10); }

std::string error_of(const std::string& text) {
  try {
    parse_tokens(text, small_config());
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Tokens, ParsesCommaSeparatedIds) {
  EXPECT_EQ(parse_tokens("5,1,0", small_config()), (std::vector<int>{5, 1, 0}));
  EXPECT_EQ(parse_tokens(" 9 , 0 ", small_config()), (std::vector<int>{9, 0}));
  EXPECT_EQ(format_tokens({5, 1, 0}), "5,1,0");
}

TEST(Tokens, RejectsBadListsNamingTheToken) {
  EXPECT_THAT(error_of(""), HasSubstr("--tokens: empty token list"));
  EXPECT_THAT(error_of("1,,2"), HasSubstr("token 1: expected a non-negative integer"));
  EXPECT_THAT(error_of("1,-2"), HasSubstr("token 1: expected a non-negative integer, found '-'"));
  EXPECT_THAT(error_of("1,10"), HasSubstr("token 1 is 10, out of range for vocab_size 10"));
  EXPECT_THAT(error_of("99999999999999999999999"), HasSubstr("out of range"));
  // Ids above 2^31 say "out of range" and echo no huge (or saturated) number.
  for (const char* huge : {"1,2147483648", "1,4294967301", "1,99999999999999999999999"}) {
    const std::string e = error_of(huge);
    EXPECT_THAT(e, HasSubstr("token 1 is out of range for vocab_size 10 (above 2^31 - 1)")) << e;
    EXPECT_EQ(e.find("2147483648"), std::string::npos) << e;
    EXPECT_EQ(e.find("1099511627776"), std::string::npos) << e;
  }
  EXPECT_THAT(error_of("1,2147483647"), HasSubstr("token 1 is 2147483647, out of range"));
  EXPECT_THAT(error_of("1;2"), HasSubstr("expected ','"));
  EXPECT_THAT(error_of("1,2,"), HasSubstr("found end of list"));
  EXPECT_THAT(error_of("1,2,3,4,5"), HasSubstr("5 tokens exceed the context of 4 positions"));
}

}  // namespace
}  // namespace gpt2
