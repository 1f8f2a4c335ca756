// GPT-2's tokenizer files, read strictly: vocab.json (token -> id) and
// merges.txt (the BPE merges, most frequent first), as a Hugging Face GPT-2
// checkpoint carries them. OpenAI released the same two files as encoder.json
// and vocab.bpe.
//
//   vocab.json   one JSON object {"token": id, ...}. A token is written in
//                GPT-2's byte-level alphabet (model/byte_level.h): "Ġthe" is
//                the bytes " the". Strict JSON (model/json_strict.h); every
//                id an integer in [0, vocab_size) of the model's config, no
//                id given twice, every key a non-empty string of alphabet
//                characters, and all 256 single-byte tokens present (so that
//                any text can be encoded). Ids may leave gaps (a config may
//                pad vocab_size). Errors name the token: GPT-2's vocab.json
//                is a single line of 1 MB, where a line number says nothing.
//   merges.txt   an optional first line "#version..." (GPT-2's says
//                "#version: 0.2"), skipped as Hugging Face's tokenizers
//                library skips it; then one merge per line, "A B": two
//                tokens of vocab.json separated by one space, whose
//                concatenation is a token of vocab.json too. The line number
//                minus the header is the merge's rank (lower merges first).
//                Lines end in "\n" (or "\r\n"); the last one may lack it. An
//                empty line, a line without exactly one space, a token not in
//                vocab.json, or a merge repeated (whose rank would then be
//                ambiguous) is an error naming the file and the line.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/merge_table.h"

namespace gpt2 {

// Hugging Face's file names (a checkpoint directory) and OpenAI's.
inline constexpr const char* kVocabFile = "vocab.json";
inline constexpr const char* kMergesFile = "merges.txt";
inline constexpr const char* kOpenAiVocabFile = "encoder.json";
inline constexpr const char* kOpenAiMergesFile = "vocab.bpe";

// What the two files say, with every token as the bytes it stands for.
struct BpeVocabulary {
  int vocab_size = 0;  // V of the model's config: every id is below it
  // [V] the bytes of each id's token; has_token[id] is 0 for the ids that
  // vocab.json leaves out.
  std::vector<std::string> token_bytes;
  std::vector<uint8_t> has_token;
  int n_tokens = 0;                   // entries of vocab.json
  std::array<int, 256> byte_token{};  // the id of each single-byte token

  MergeTable merges;  // (left id, right id) -> rank and merged id
};

// Parses both files' text; `vocab_source` and `merges_source` name them in
// errors. Throws InputError as described above.
BpeVocabulary parse_bpe_vocabulary(std::string_view vocab_json, const std::string& vocab_source,
                                   std::string_view merges_txt, const std::string& merges_source,
                                   int vocab_size);

// Paths of the two files of a tokenizer directory.
struct TokenizerFiles {
  std::string vocab;
  std::string merges;
};

// DIR/vocab.json and DIR/merges.txt, or, when `openai_names_too`, else
// DIR/encoder.json and DIR/vocab.bpe. nullopt when DIR holds no file of
// either pair; InputError naming the missing file when only one of a pair is
// there.
std::optional<TokenizerFiles> find_tokenizer_files(const std::string& dir,
                                                   bool openai_names_too = false);

// Reads and parses the two files (InputError naming the file otherwise).
BpeVocabulary read_bpe_vocabulary(const TokenizerFiles& files, int vocab_size);

}  // namespace gpt2
