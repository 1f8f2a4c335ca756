// End-to-end tests of text input and output: --text and --text-file wherever
// --tokens is accepted, through the checkpoint's own tokenizer; decode's
// continuation as text; export --tokenizer.
//
// Two checkpoints: one with GPT-2's vocabulary size and GPT-2's own
// tokenizer files (ci/setup unpacks them; small weights, so that every verb
// runs in a moment), and the `small` preset exported with a tokenizer of
// its own (256 byte tokens and a few merges, all below its vocab_size 512).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_test_support.h"
#include "model/byte_level.h"
#include "model/checkpoint.h"
#include "model/files.h"
#include "model/safetensors.h"
#include "model/gpt2_tokenizer_test_support.h"
#include "model/utf8.h"

namespace {

namespace fs = std::filesystem;
using namespace gpt2::cli_test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

void write(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// The line of `out` that starts with `prefix` (without its newline), or "".
std::string line_starting(const std::string& out, const std::string& prefix) {
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

// A checkpoint of GPT-2's vocabulary size (2 layers, 2 heads, n_embd 16,
// context 64) with GPT-2's vocab.json and merges.txt.
class Gpt2VocabularyCheckpoint : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!gpt2::test_tokenizer::reference_files_problem().empty()) return;  // SetUp fails
    dir_ = new fs::path(scratch() / "gpt2_vocabulary");
    fs::remove_all(*dir_);
    const std::string files = gpt2::test_tokenizer::reference_dir();
    gpt2::save_checkpoint(
        gpt2::seeded_weights(gpt2::make_config(2, 2, 16, 64, gpt2::test_tokenizer::kGpt2VocabSize),
                             21),
        dir_->string(),
        {{gpt2::kVocabFile, gpt2::read_file(files + "/" + gpt2::kOpenAiVocabFile)},
         {gpt2::kMergesFile, gpt2::read_file(files + "/" + gpt2::kOpenAiMergesFile)}});
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(dir_, nullptr) << gpt2::test_tokenizer::reference_files_problem();
  }
  static std::string checkpoint() { return "--checkpoint " + dir_->string(); }
  static fs::path* dir_;
};
fs::path* Gpt2VocabularyCheckpoint::dir_ = nullptr;

TEST_F(Gpt2VocabularyCheckpoint, DecodeTakesTextAndShowsTheContinuationAsText) {
  const Result text = run("decode " + checkpoint() + " --text 'Hello world' --max-new 3");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("prefill: 2 tokens"));  // "Hello world" is 15496 995
  // The same run from the ids: the same continuation, on the same line.
  const Result ids = run("decode " + checkpoint() + " --tokens 15496,995 --max-new 3");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  const std::string generated = line_starting(text.out, "generated: ");
  EXPECT_EQ(generated, line_starting(ids.out, "generated: "));

  // The text line is the generated ids decoded by GPT-2's tokenizer.
  std::vector<int> continuation;
  std::istringstream numbers(generated.substr(std::string("generated: ").size()));
  for (int id; numbers >> id;) continuation.push_back(id);
  ASSERT_EQ(continuation.size(), 3u) << generated;
  const gpt2::Gpt2Tokenizer gpt2 = gpt2::test_tokenizer::read_gpt2_tokenizer();
  EXPECT_EQ(line_starting(text.out, "text: "),
            "text: " + gpt2::quoted_for_display(gpt2.decode(continuation)));
  EXPECT_EQ(line_starting(ids.out, "text: "), line_starting(text.out, "text: "));
}

TEST_F(Gpt2VocabularyCheckpoint, TextFileIsTheFilesBytesExactly) {
  const fs::path file = scratch() / "prompt.txt";
  write(file, "Hello world");
  Result r = run("run --impl optimized " + checkpoint() + " --text-file " + file.string() +
                 " --out " + (scratch() / "t.safetensors").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const gpt2::SafetensorsFile trace =
      gpt2::SafetensorsFile::read((scratch() / "t.safetensors").string());
  EXPECT_EQ(trace.metadata().at("tokens"), "15496,995");
  EXPECT_EQ(trace.metadata().at("text"), "Hello world");

  write(file, "Hello world\n");  // the final newline is a token too (198)
  r = run("run --impl optimized " + checkpoint() + " --text-file " + file.string() + " --out " +
          (scratch() / "t.safetensors").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      gpt2::SafetensorsFile::read((scratch() / "t.safetensors").string()).metadata().at("tokens"),
      "15496,995,198");
}

TEST_F(Gpt2VocabularyCheckpoint, MaskAblationLabelsPositionsWithTheirTokens) {
  const std::string json = (scratch() / "ablation.json").string();
  const Result r = run("mask-ablation " + checkpoint() +
                       " --text 'Hello world!' --precision f64 --threads 1 --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\ntoken      \"Hello\" \" world\"      \"!\"\n"));
  const nlohmann::json j = nlohmann::json::parse(gpt2::read_file(json));
  EXPECT_EQ(j["tokens"], nlohmann::json({15496, 995, 0}));
  EXPECT_EQ(j["token_text"], nlohmann::json({"Hello", " world", "!"}));
}

TEST_F(Gpt2VocabularyCheckpoint, BadTextIsExitTwoWithOneLine) {
  expect_bad_input("decode " + checkpoint() + " --text $(printf 'ab\\377') --max-new 1",
                   "--text: invalid UTF-8 at byte offset 2 (0xff)");
  const fs::path file = scratch() / "bad.txt";
  write(file, "caf\xc3\xa9 \xc3(");
  expect_bad_input("run " + checkpoint() + " --text-file " + file.string() + " --out x",
                   "--text-file " + file.string() + ": invalid UTF-8 at byte offset 6 (0xc3)");
  expect_bad_input("run " + checkpoint() + " --text-file /nonexistent/prompt.txt --out x",
                   "/nonexistent/prompt.txt: cannot read");
  expect_bad_input("decode " + checkpoint() + " --text '' --max-new 1", "--text: empty token list");
  expect_bad_input("decode " + checkpoint() + " --text 'Hello' --tokens 1 --max-new 1", "excludes");
  expect_bad_input("decode " + checkpoint() + " --max-new 1",
                   "one of --tokens, --text or --text-file is required");
  std::string a65;  // " a" 65 times: 65 tokens, beyond the context of 64 positions
  for (int i = 0; i < 65; ++i) a65 += " a";
  expect_bad_input("run " + checkpoint() + " --text '" + a65 + "' --out x",
                   "--text: 65 tokens exceed the context of 64 positions");
  expect_bad_input("decode " + checkpoint() + " --text 'Hello world' --max-new 63",
                   "--text (2 tokens) + --max-new (63) exceeds the context of 64");
}

TEST(TextCli, ExportedGpt2ShapeCheckpointWithGpt2sTokenizerDecodesText) {
  // The whole path as a person runs it: GPT-2's shape (vocab 50257) exported
  // with GPT-2's own tokenizer files, then text in and text out. About 5 s
  // and 475 MB of weights; removed at once. Under a sanitizer the same code
  // paths run in the smaller checkpoint tests above, and this one takes the
  // longest of the suite (38 s under ASan), so it runs in the release build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "release only: the smaller checkpoint tests cover these paths under sanitizers";
#endif
  ASSERT_EQ(gpt2::test_tokenizer::reference_files_problem(), "");
  const fs::path dir = scratch() / "gpt2_124m_shape";
  fs::remove_all(dir);
  const Result exported = run("export --model gpt2-124m-shape --out " + dir.string() +
                              " --tokenizer " + gpt2::test_tokenizer::reference_dir());
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const Result r =
      run("decode --checkpoint " + dir.string() + " --text 'Hello world' --max-new 2 --threads 2");
  fs::remove_all(dir);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("prefill: 2 tokens"));
  EXPECT_NE(line_starting(r.out, "generated: "), "");
  EXPECT_THAT(line_starting(r.out, "text: "), StartsWith("text: \""));
}

TEST(TextCli, NoTokenizerIsExitTwoNamingTheMissingFiles) {
  expect_bad_input("decode --model tiny --text hi --max-new 1",
                   "--text: the preset 'tiny' has no tokenizer");
  write(scratch() / "hi.txt", "hi");
  expect_bad_input("mask-ablation --model small --text-file " + (scratch() / "hi.txt").string(),
                   "--text-file: the preset 'small' has no tokenizer");
  const fs::path dir = scratch() / "no_tokenizer";
  fs::remove_all(dir);
  ASSERT_EQ(run("export --model tiny --out " + dir.string()).exit_code, 0);
  expect_bad_input("decode --checkpoint " + dir.string() + " --text hi --max-new 1",
                   dir.string() + ": no tokenizer: vocab.json and merges.txt are missing");
  write(dir / "vocab.json", "{}");
  expect_bad_input("run --checkpoint " + dir.string() + " --text hi --out x",
                   "merges.txt is missing beside");
  // A checkpoint's tokenizer, when present, is read strictly even for ids.
  expect_bad_input("decode --checkpoint " + dir.string() + " --tokens 1 --max-new 1",
                   "merges.txt is missing beside");
}

// ---- export --tokenizer, on `small` with a tokenizer of its size -----------

// 256 single-byte tokens (id = byte) and the merges that make "Hello" (ids
// 256 .. 259: He, Hel, Hell, Hello) and " world" (260 .. 264), all below
// small's vocab_size 512.
fs::path small_tokenizer_dir() {
  const fs::path dir = scratch() / "small_tokenizer";
  if (fs::exists(dir / "merges.txt")) return dir;
  fs::create_directories(dir);
  nlohmann::ordered_json vocab;
  for (int b = 0; b < 256; ++b) vocab[gpt2::bytes_to_symbols(std::string(1, char(b)))] = b;
  std::string merges = "#version: 0.2\n";
  int id = 256;
  for (const std::string word : {"Hello", " world"}) {
    std::string made = word.substr(0, 1);
    for (size_t i = 1; i < word.size(); ++i) {
      merges +=
          gpt2::bytes_to_symbols(made) + " " + gpt2::bytes_to_symbols(word.substr(i, 1)) + "\n";
      made += word[i];
      vocab[gpt2::bytes_to_symbols(made)] = id++;
    }
  }
  write(dir / "vocab.json", vocab.dump());
  write(dir / "merges.txt", merges);
  return dir;
}

TEST(TextCli, ExportCopiesATokenizerThatFitsTheModel) {
  const fs::path out = scratch() / "small_with_tokenizer";
  fs::remove_all(out);
  const Result r = run("export --model small --out " + out.string() + " --tokenizer " +
                       small_tokenizer_dir().string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("vocab.json, merges.txt"));
  EXPECT_EQ(gpt2::read_file((out / "merges.txt").string()),
            gpt2::read_file((small_tokenizer_dir() / "merges.txt").string()));
  const Result decode =
      run("decode --checkpoint " + out.string() + " --text 'Hello world' --max-new 2");
  ASSERT_EQ(decode.exit_code, 0) << decode.err;
  EXPECT_THAT(decode.out, StartsWith("prefill: 2 tokens"));  // 259 ("Hello"), 264 (" world")
  EXPECT_THAT(decode.out, HasSubstr("\ntext: \""));

  // GPT-2's 50,257 tokens do not fit tiny's 64, and a directory without a
  // tokenizer is named: nothing is written either way.
  const fs::path bad = scratch() / "tiny_with_gpt2_tokenizer";
  fs::remove_all(bad);
  expect_bad_input("export --model tiny --out " + bad.string() + " --tokenizer " +
                       gpt2::test_tokenizer::reference_dir(),
                   "out of range for vocab_size 64");
  expect_bad_input(
      "export --model tiny --out " + bad.string() + " --tokenizer " + scratch().string(),
      "no tokenizer there (expected vocab.json and merges.txt");
  EXPECT_FALSE(fs::exists(bad));
}

TEST(TextCli, FixturesRecordTheText) {
  const fs::path checkpoint = scratch() / "small_for_fixture";
  fs::remove_all(checkpoint);
  ASSERT_EQ(run("export --model small --out " + checkpoint.string() + " --tokenizer " +
                small_tokenizer_dir().string())
                .exit_code,
            0);
  const fs::path dir = scratch() / "text_case";
  fs::remove_all(dir);
  const Result r = run("fixtures generate --checkpoint " + checkpoint.string() +
                       " --text 'Hello world' --threads 2 --out " + dir.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json c = nlohmann::json::parse(gpt2::read_file((dir / "case.json").string()));
  EXPECT_EQ(c["text"], "Hello world");
  EXPECT_EQ(c["tokens"], nlohmann::json({259, 264}));
  const Result verify = run("fixtures verify " + dir.string() + " --kernel fast --threads 2");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
