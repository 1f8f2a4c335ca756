#include "model/tokenizer_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/byte_level.h"
#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

// A vocab.json with the 256 single-byte tokens (id = byte) and then `extra`
// tokens (given as bytes) from id 256 on.
std::string vocab_json(const std::vector<std::string>& extra = {"ab", "aba"}) {
  nlohmann::ordered_json j;
  for (int b = 0; b < 256; ++b) j[bytes_to_symbols(std::string(1, char(b)))] = b;
  for (size_t i = 0; i < extra.size(); ++i) j[bytes_to_symbols(extra[i])] = 256 + int(i);
  return j.dump();
}

std::string error_of(const std::string& vocab, const std::string& merges, int vocab_size = 300) {
  try {
    parse_bpe_vocabulary(vocab, "d/vocab.json", merges, "d/merges.txt", vocab_size);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenizerFiles, ReadsTokensAsBytesAndMergesByLine) {
  const BpeVocabulary v = parse_bpe_vocabulary(vocab_json(), "vocab.json",
                                               "#version: 0.2\na b\nab a\n", "merges.txt", 300);
  EXPECT_EQ(v.vocab_size, 300);
  EXPECT_EQ(v.n_tokens, 258);
  EXPECT_EQ(v.token_bytes[' '], " ");
  EXPECT_EQ(v.token_bytes[257], "aba");
  EXPECT_TRUE(v.has_token[257]);
  EXPECT_FALSE(v.has_token[258]);  // ids may leave a gap below vocab_size
  EXPECT_EQ(v.byte_token['\n'], '\n');
  ASSERT_EQ(v.merges.size(), 2u);
  const MergeTable::Merge* first = v.merges.find('a', 'b');
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->rank, 0);
  EXPECT_EQ(first->merged, 256);
  const MergeTable::Merge* second = v.merges.find(256, 'a');
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->rank, 1);
  EXPECT_EQ(second->merged, 257);
  EXPECT_EQ(v.merges.find('b', 'a'), nullptr);
}

TEST(TokenizerFiles, VersionHeaderIsOptionalAndLineEndsAreFlexible) {
  // Without the header the first line is a merge (as Hugging Face's
  // tokenizers library reads it); the last line may lack its newline; CRLF.
  for (const std::string merges :
       {"a b\nab a", "#version: 0.2 - trained elsewhere\r\na b\r\nab a\r\n"}) {
    SCOPED_TRACE(merges);
    const BpeVocabulary v = parse_bpe_vocabulary(vocab_json(), "v", merges, "m", 300);
    EXPECT_EQ(v.merges.size(), 2u);
    ASSERT_NE(v.merges.find(256, 'a'), nullptr);
    EXPECT_EQ(v.merges.find(256, 'a')->rank, 1);
  }
  EXPECT_EQ(parse_bpe_vocabulary(vocab_json(), "v", "", "m", 300).merges.size(), 0u);
  EXPECT_EQ(parse_bpe_vocabulary(vocab_json(), "v", "#version: 0.2\n", "m", 300).merges.size(), 0u);
}

TEST(TokenizerFiles, MalformedMergeLinesNameTheFileAndLine) {
  const std::string v = vocab_json();
  EXPECT_EQ(error_of(v, "#version: 0.2\na b\nab\n"),
            "d/merges.txt: line 3: expected two tokens separated by one space, found 'ab'");
  EXPECT_THAT(error_of(v, "a b\n\nab a\n"), HasSubstr("d/merges.txt: line 2: expected two tokens"));
  EXPECT_THAT(error_of(v, "a  b\n"), HasSubstr("line 1: expected two tokens"));
  EXPECT_THAT(error_of(v, "a b c\n"), HasSubstr("line 1: expected two tokens"));
  EXPECT_THAT(error_of(v, " a\n"), HasSubstr("line 1: expected two tokens"));
  EXPECT_THAT(error_of(v, "a b\n\n"),
              HasSubstr("line 2: expected two tokens"));  // a blank last line
  EXPECT_THAT(error_of(v, "a\tb\n"), HasSubstr("line 1: expected two tokens"));
  // "#version" is a header on line 1 only; later it is read as a merge.
  EXPECT_THAT(error_of(v, "a b\n#version: 0.2\n"),
              HasSubstr("line 2: '#version:' is not a token of the vocabulary"));
}

TEST(TokenizerFiles, MergesMustJoinTokensIntoATokenOnce) {
  const std::string v = vocab_json();
  EXPECT_EQ(error_of(v, "a b\nb a\n"),
            "d/merges.txt: line 2: the merged token 'ba' is not a token of the vocabulary");
  EXPECT_EQ(error_of(v, "a b\nabc a\n"),
            "d/merges.txt: line 2: 'abc' is not a token of the vocabulary");
  EXPECT_EQ(error_of(v, "a b\nab a\na b\n"),
            "d/merges.txt: line 3: the merge 'a b' repeats line 1");
  // Tokens are written in the byte-level alphabet: " a" is "Ġa", and a raw
  // space can never be part of one.
  EXPECT_THAT(error_of(vocab_json({" a"}), "\xc4\xa0 a\n"), HasSubstr("(no error)"));
}

TEST(TokenizerFiles, VocabularyIdsAreIntegersInRangeAndUnique) {
  EXPECT_EQ(error_of(vocab_json(), "", 257),
            "d/vocab.json: token 'aba' has id 257, out of range for vocab_size 257 of the "
            "model's config");
  nlohmann::json j = nlohmann::json::parse(vocab_json());
  j["ab"] = -1;
  EXPECT_THAT(error_of(j.dump(), ""), HasSubstr("token 'ab' has id -1, out of range"));
  j["ab"] = 1.5;
  EXPECT_THAT(error_of(j.dump(), ""), HasSubstr("token 'ab': expected an integer id, found 1.5"));
  j["ab"] = "256";
  EXPECT_THAT(error_of(j.dump(), ""), HasSubstr("expected an integer id, found \"256\""));
  j["ab"] = 97;  // the id of "a"
  EXPECT_EQ(error_of(j.dump(), ""), "d/vocab.json: id 97 is given to two tokens, 'a' and 'ab'");
  EXPECT_THAT(error_of("[1, 2]", ""), HasSubstr("d/vocab.json: expected a JSON object"));
  EXPECT_THAT(error_of("{\"a\": 1, \"a\": 2}", ""), HasSubstr("d/vocab.json: duplicate key 'a'"));
  EXPECT_THAT(error_of("{\"a\": 1,", ""), HasSubstr("d/vocab.json: invalid JSON"));
}

TEST(TokenizerFiles, VocabularyKeysAreNonEmptyAlphabetStringsCoveringEveryByte) {
  nlohmann::json j = nlohmann::json::parse(vocab_json());
  j["a b"] = 290;
  EXPECT_THAT(error_of(j.dump(), ""),
              HasSubstr("token 'a b' holds a character at byte 1 that is not one of GPT-2's 256 "
                        "byte-level characters"));
  j.erase("a b");
  j[""] = 290;
  EXPECT_THAT(error_of(j.dump(), ""), HasSubstr("the empty string (id 290) is not a token"));
  j.erase("");
  j.erase(bytes_to_symbols("\n"));
  EXPECT_EQ(error_of(j.dump(), ""),
            "d/vocab.json: no token for the byte 0x0a ('\xc4\x8a'); a byte-level vocabulary "
            "holds all 256");
}

TEST(TokenizerFiles, FindsEitherNamingAndNamesAHalfPresentPair) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("gpt2_tokenizer_files_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto touch = [&](const char* name) { std::ofstream(dir / name) << "x"; };
  EXPECT_FALSE(find_tokenizer_files(dir.string()));
  touch(kOpenAiVocabFile);
  touch(kOpenAiMergesFile);
  EXPECT_FALSE(find_tokenizer_files(dir.string()));  // a checkpoint holds Hugging Face's names
  ASSERT_TRUE(find_tokenizer_files(dir.string(), true));
  EXPECT_EQ(find_tokenizer_files(dir.string(), true)->merges, (dir / kOpenAiMergesFile).string());
  touch(kVocabFile);
  try {
    find_tokenizer_files(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("merges.txt is missing beside"));
  }
  touch(kMergesFile);
  EXPECT_EQ(find_tokenizer_files(dir.string(), true)->vocab, (dir / kVocabFile).string());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace gpt2
