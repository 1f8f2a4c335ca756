#include "model/batch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

Config small_config() { return make_config(1, 1, 4, 4, 10); }  // P = 4, V = 10

std::string error_of(const std::string& text) {
  try {
    parse_batch_file(text, small_config(), "rows.txt");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BatchLayout, LeftPaddingPutsEveryRowsLastTokenInTheLastColumn) {
  const BatchLayout layout({3, 1, 2}, Padding::left);
  EXPECT_EQ(layout.rows(), 3);
  EXPECT_EQ(layout.width(), 3);
  EXPECT_EQ(layout.first_column(0), 0);
  EXPECT_EQ(layout.first_column(1), 2);
  EXPECT_EQ(layout.first_column(2), 1);
  EXPECT_FALSE(layout.is_real(1, 1));
  EXPECT_TRUE(layout.is_real(1, 2));
  // Position ids count real tokens only; padding columns get 1 (Hugging Face).
  EXPECT_EQ(layout.position_id(2, 1, 8), 0);
  EXPECT_EQ(layout.position_id(2, 2, 8), 1);
  EXPECT_EQ(layout.position_id(1, 0, 8), 1);
  EXPECT_EQ(layout.position_id(1, 0, 1), 0);  // a one-position context has no position 1
  EXPECT_EQ(layout.padded({{5, 6, 7}, {8}, {1, 2}}),
            (std::vector<int>{5, 6, 7, kPaddingToken, kPaddingToken, 8, kPaddingToken, 1, 2}));
}

TEST(BatchLayout, RightPaddingStartsEveryRowInColumnZero) {
  const BatchLayout layout({1, 3}, Padding::right);
  EXPECT_EQ(layout.width(), 3);
  EXPECT_EQ(layout.first_column(0), 0);
  EXPECT_TRUE(layout.is_real(0, 0));
  EXPECT_FALSE(layout.is_real(0, 1));
  EXPECT_EQ(layout.position_id(1, 2, 8), 2);
  EXPECT_EQ(layout.position_id(0, 2, 8), 1);
  EXPECT_EQ(layout.padded({{4}, {1, 2, 3}}), (std::vector<int>{4, 0, 0, 1, 2, 3}));
}

TEST(BatchLayout, PaddingParsesAndPrints) {
  EXPECT_EQ(parse_padding("left"), Padding::left);
  EXPECT_EQ(parse_padding("right"), Padding::right);
  EXPECT_STREQ(padding_name(Padding::right), "right");
  EXPECT_THROW(parse_padding("Left"), InputError);
}

TEST(BatchFile, ParsesOneRowPerLineAndFormatsBack) {
  const auto rows = parse_batch_file("5,1,0\n 9 , 0\r\n3", small_config(), "rows.txt");
  EXPECT_EQ(rows, (std::vector<std::vector<int>>{{5, 1, 0}, {9, 0}, {3}}));
  EXPECT_EQ(format_batch_file(rows), "5,1,0\n9,0\n3\n");
  EXPECT_EQ(parse_batch_file(format_batch_file(rows), small_config(), "x"), rows);
}

TEST(BatchFile, RejectsBadInputNamingTheFileAndLine) {
  EXPECT_THAT(error_of(""), HasSubstr("rows.txt: no rows"));
  EXPECT_THAT(error_of("1,2\n\n3"), HasSubstr("rows.txt, line 2: empty line"));
  EXPECT_THAT(error_of("1,2\n  \n"), HasSubstr("rows.txt, line 2: empty line"));
  EXPECT_THAT(error_of("1\n2,x"), HasSubstr("rows.txt, line 2: token 1: expected a non-negative"));
  EXPECT_THAT(error_of("1\n2\n3,10"),
              HasSubstr("rows.txt, line 3: token 1 is 10, out of range for vocab_size 10"));
  EXPECT_THAT(error_of("1,2,3,4,5"),
              HasSubstr("rows.txt, line 1: 5 tokens exceed the context of 4 positions"));
  EXPECT_THAT(error_of("1\r\r\n"), HasSubstr("rows.txt, line 1: expected ','"));
  std::string many;
  for (int i = 0; i <= kMaxBatchRows; ++i) many += "1\n";
  EXPECT_THAT(error_of(many), HasSubstr("line 1025: more than 1024 rows"));
}

TEST(BatchFile, ValidateNamesTheRow) {
  try {
    validate_batch({{1}, {}}, small_config(), "rows");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rows, row 1: empty token list"));
  }
  EXPECT_THROW(validate_batch({}, small_config()), InputError);
}

}  // namespace
}  // namespace gpt2
