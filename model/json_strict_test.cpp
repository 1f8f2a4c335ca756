#include "model/json_strict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::string& text) {
  try {
    parse_strict_json(text, "f.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(StrictJson, ParsesPlainJson) {
  const auto j = parse_strict_json(R"({"a": [1, 2.5, "x"], "b": {"c": null}})", "f.json");
  EXPECT_EQ(j["a"][1].get<double>(), 2.5);
}

TEST(StrictJson, RejectsDuplicateKeysAtAnyDepth) {
  EXPECT_THAT(error_of(R"({"a": 1, "a": 2})"), HasSubstr("f.json: duplicate key 'a'"));
  EXPECT_THAT(error_of(R"({"x": {"a": 1, "a": 2}})"), HasSubstr("duplicate key 'a'"));
  // The same key in sibling objects is fine.
  EXPECT_EQ(error_of(R"({"x": {"a": 1}, "y": {"a": 2}})"), "(no error)");
}

TEST(StrictJson, RejectsWhatRfc8259Rejects) {
  EXPECT_THAT(error_of("{\"a\": NaN}"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of("{\"a\": 1,}"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of("{\"a\": 1} // c"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of("{\"a\": \"\xff\"}"), HasSubstr("invalid JSON"));  // bad UTF-8
  EXPECT_THAT(error_of("{\"a\": \"\xc3\"}"), HasSubstr("invalid JSON"));  // truncated UTF-8
  EXPECT_THAT(error_of("{\"a\": 1} x"), HasSubstr("invalid JSON"));
}

TEST(StrictJson, RejectsANulByteAnywhere) {
  // nlohmann::json alone stops at a NUL and accepts "{}".
  EXPECT_THAT(error_of(std::string("{}\0garbage", 10)), HasSubstr("NUL byte at offset 2"));
}

TEST(StrictJson, MessagesStayOnOneLine) {
  const std::string e = error_of("{\"a\\nb\": 1, \"a\\nb\": 2}");
  EXPECT_THAT(e, HasSubstr("duplicate key 'a\\x0ab'"));
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_EQ(quote_for_message(std::string(200, 'x')).size(), 2 + kMaxQuotedBytes + 3);
}

TEST(StrictJson, TypedAccessNamesTheKey) {
  const auto j = parse_strict_json(R"({"n": 1.5, "s": 3, "big": 18446744073709551615})", "f.json");
  EXPECT_THROW(require_int(j, "n", "f.json"), InputError);
  EXPECT_THROW(require_string(j, "s", "f.json"), InputError);
  EXPECT_THROW(require_int(j, "big", "f.json"), InputError);
  EXPECT_THROW(require_key(j, "missing", "f.json"), InputError);
  EXPECT_EQ(require_number(j, "s", "f.json"), 3.0);
}

}  // namespace
}  // namespace gpt2
