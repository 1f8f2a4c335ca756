// GPT-2's tokenizer: byte-level byte-pair encoding (openai/gpt-2
// encoder.py), read from a checkpoint's vocab.json and merges.txt.
//
// encode(text):
//   1. the text must be well-formed UTF-8 (model/utf8.h);
//   2. GPT-2's pattern cuts it into pieces (model/pretokenizer.h);
//   3. each piece starts as its bytes, one single-byte token each, and the
//      merges are applied by rank: the adjacent pair with the lowest rank,
//      merged wherever it occurs left to right, then again, until no adjacent
//      pair is a merge (encoder.py's Encoder.bpe). Pieces seen before come
//      from a cache.
// decode(ids) concatenates the tokens' bytes. Those bytes need not be UTF-8
// (a token may hold half of a character), and are returned as they are:
// only display (model/utf8.h, utf8_for_display) replaces what is ill-formed.
//
// Special tokens get no treatment: the text "<|endoftext|>" is encoded as
// its characters, as encoder.py does, never as GPT-2's end-of-text token
// (id 50256); decode(50256) gives the text "<|endoftext|>".
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/pretokenizer.h"
#include "model/tokenizer_files.h"

namespace gpt2 {

class Gpt2Tokenizer {
 public:
  explicit Gpt2Tokenizer(BpeVocabulary vocabulary);

  // DIR/vocab.json and DIR/merges.txt for a model of `vocab_size` tokens.
  // Throws InputError naming the missing files when DIR lacks them, and as
  // parse_bpe_vocabulary when they are malformed.
  static Gpt2Tokenizer read(const std::string& dir, int vocab_size);

  // The ids of `text`. Throws InputError "<source>: invalid UTF-8 at byte
  // offset N (0xNN)" when `text` is not well-formed UTF-8. Not thread-safe
  // (the cache); the same text always gives the same ids.
  std::vector<int> encode(std::string_view text, const std::string& source = "text");

  // The bytes of the tokens `ids`. Throws InputError naming `source` and the
  // id when an id has no token (out of range, or a gap of vocab.json).
  std::string decode(std::span<const int> ids, const std::string& source = "token ids") const;

  // Forgets every cached piece (for benchmarks of the uncached path).
  void clear_cache() {
    cache_.clear();
    cached_ids_.clear();
  }

  bool has_token(int id) const;
  const std::string& token_bytes(int id) const;  // requires has_token(id)
  int vocab_size() const { return vocabulary_.vocab_size; }
  int n_tokens() const { return vocabulary_.n_tokens; }

  // Pieces longer than this are encoded but not kept in the cache; the cache
  // is emptied when it holds kMaxCachedPieces (so memory stays bounded
  // whatever the text).
  static constexpr size_t kMaxCachedPieceBytes = 256;
  static constexpr size_t kMaxCachedPieces = size_t{1} << 17;

 private:
  // Appends the ids of one piece (steps 3 above, without the cache).
  void byte_pair_encode(std::string_view piece, std::vector<int>& ids);

  BpeVocabulary vocabulary_;
  Gpt2Pretokenizer pretokenizer_;

  // The cache: piece -> its ids, kept in one array (no allocation per piece).
  struct CachedIds {
    uint32_t first = 0;  // cached_ids_[first, first + count)
    uint32_t count = 0;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, CachedIds, StringHash, std::equal_to<>> cache_;
  std::vector<int> cached_ids_;

  // byte_pair_encode's working memory, kept between pieces.
  struct Symbol {
    int id;    // -1 once merged into the symbol on its left
    int next;  // index of the next symbol, -1 at the end
    int prev;  // index of the previous symbol, -1 at the start
  };
  struct Candidate {  // an adjacent pair that is a merge
    int rank, left, left_id, right_id, merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  std::vector<Symbol> symbols_;
  std::vector<Candidate> heap_;  // a min-heap by (rank, left)
  std::vector<int> merged_this_pass_;
};

}  // namespace gpt2
