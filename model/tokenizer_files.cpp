#include "model/tokenizer_files.h"

#include <filesystem>
#include <unordered_map>

#include "model/byte_level.h"
#include "model/error.h"
#include "model/files.h"
#include "model/json_strict.h"

namespace gpt2 {

namespace {

std::string hex_byte(int b) {
  static const char kHex[] = "0123456789abcdef";
  return std::string("0x") + kHex[b >> 4] + kHex[b & 15];
}

// vocab.json: the tokens (as bytes) and their ids.
void parse_vocab(std::string_view text, const std::string& source, BpeVocabulary& v,
                 std::unordered_map<std::string, int>& id_of_symbols) {
  const nlohmann::json j = parse_strict_json(text, source);
  if (!j.is_object())
    throw InputError(source + ": expected a JSON object mapping each token to its id");
  v.token_bytes.assign(v.vocab_size, std::string());
  v.has_token.assign(v.vocab_size, 0);
  std::vector<const std::string*> symbols_of_id(v.vocab_size, nullptr);
  id_of_symbols.reserve(j.size());
  for (const auto& [symbols, value] : j.items()) {
    const std::string token = "token " + quote_for_message(symbols);
    if (!value.is_number_integer())
      throw InputError(source + ": " + token + ": expected an integer id, found " + value.dump());
    const bool negative = value.is_number_integer() && !value.is_number_unsigned();
    if (negative || value.get<uint64_t>() >= static_cast<uint64_t>(v.vocab_size))
      throw InputError(source + ": " + token + " has id " + value.dump() +
                       ", out of range for vocab_size " + std::to_string(v.vocab_size) +
                       " of the model's config");
    const int id = value.get<int>();
    if (symbols.empty())
      throw InputError(source + ": the empty string (id " + value.dump() + ") is not a token");
    size_t bad = 0;
    std::optional<std::string> bytes = symbols_to_bytes(symbols, &bad);
    if (!bytes)
      throw InputError(source + ": " + token + " holds a character at byte " + std::to_string(bad) +
                       " that is not one of GPT-2's 256 byte-level characters");
    if (symbols_of_id[id])
      throw InputError(source + ": id " + std::to_string(id) + " is given to two tokens, " +
                       quote_for_message(*symbols_of_id[id]) + " and " +
                       quote_for_message(symbols));
    symbols_of_id[id] = &id_of_symbols.emplace(symbols, id).first->first;
    v.token_bytes[id] = std::move(*bytes);
    v.has_token[id] = 1;
    ++v.n_tokens;
  }
  v.byte_token.fill(-1);
  for (int id = 0; id < v.vocab_size; ++id)
    if (v.has_token[id] && v.token_bytes[id].size() == 1)
      v.byte_token[static_cast<uint8_t>(v.token_bytes[id][0])] = id;
  for (int b = 0; b < 256; ++b)
    if (v.byte_token[b] < 0)
      throw InputError(source + ": no token for the byte " + hex_byte(b) + " (" +
                       quote_for_message(bytes_to_symbols(std::string(1, char(b)))) +
                       "); a byte-level vocabulary holds all 256");
}

// merges.txt: the merges, ranked by their order.
void parse_merges(std::string_view text, const std::string& source, BpeVocabulary& v,
                  const std::unordered_map<std::string, int>& id_of_symbols) {
  std::unordered_map<uint64_t, int> line_of_merge;
  size_t begin = 0;
  int line_number = 0;
  int rank = 0;
  while (begin < text.size()) {
    ++line_number;
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = source + ": line " + std::to_string(line_number);
    if (line_number == 1 && line.substr(0, 8) == "#version") continue;
    const size_t space = line.find(' ');
    if (line.empty() || space == 0 || space == std::string_view::npos || space + 1 == line.size() ||
        line.find(' ', space + 1) != std::string_view::npos)
      throw InputError(where + ": expected two tokens separated by one space, found " +
                       quote_for_message(line));
    const std::string left(line.substr(0, space));
    const std::string right(line.substr(space + 1));
    auto id_of = [&](const std::string& symbols, const char* what) {
      auto it = id_of_symbols.find(symbols);
      if (it == id_of_symbols.end())
        throw InputError(where + ": " + what + quote_for_message(symbols) +
                         " is not a token of the vocabulary");
      return it->second;
    };
    const int left_id = id_of(left, "");
    const int right_id = id_of(right, "");
    const int merged_id = id_of(left + right, "the merged token ");
    const uint64_t pair = (uint64_t(left_id) << 32) | uint32_t(right_id);
    if (auto [it, fresh] = line_of_merge.emplace(pair, line_number); !fresh)
      throw InputError(where + ": the merge " + quote_for_message(line) + " repeats line " +
                       std::to_string(it->second));
    v.merges.insert(left_id, right_id, {rank++, merged_id});
  }
}

}  // namespace

BpeVocabulary parse_bpe_vocabulary(std::string_view vocab_json, const std::string& vocab_source,
                                   std::string_view merges_txt, const std::string& merges_source,
                                   int vocab_size) {
  GPT2_CHECK(vocab_size > 0, "vocab_size comes from a validated config");
  BpeVocabulary v;
  v.vocab_size = vocab_size;
  std::unordered_map<std::string, int> id_of_symbols;
  parse_vocab(vocab_json, vocab_source, v, id_of_symbols);
  parse_merges(merges_txt, merges_source, v, id_of_symbols);
  return v;
}

std::optional<TokenizerFiles> find_tokenizer_files(const std::string& dir, bool openai_names_too) {
  namespace fs = std::filesystem;
  auto pair_in = [&](const char* vocab, const char* merges) -> std::optional<TokenizerFiles> {
    const fs::path v = fs::path(dir) / vocab, m = fs::path(dir) / merges;
    std::error_code ec;
    const bool has_v = fs::is_regular_file(v, ec), has_m = fs::is_regular_file(m, ec);
    if (!has_v && !has_m) return std::nullopt;
    if (!has_v || !has_m)
      throw InputError(dir + ": the tokenizer is incomplete: " + (has_v ? m : v).string() +
                       " is missing beside " + (has_v ? v : m).string());
    return TokenizerFiles{v.string(), m.string()};
  };
  if (auto files = pair_in(kVocabFile, kMergesFile)) return files;
  if (openai_names_too) return pair_in(kOpenAiVocabFile, kOpenAiMergesFile);
  return std::nullopt;
}

BpeVocabulary read_bpe_vocabulary(const TokenizerFiles& files, int vocab_size) {
  return parse_bpe_vocabulary(read_file(files.vocab), files.vocab, read_file(files.merges),
                              files.merges, vocab_size);
}

}  // namespace gpt2
