#include "model/tokenizer.h"

#include <algorithm>
#include <functional>

#include "model/error.h"
#include "model/utf8.h"

namespace gpt2 {

Gpt2Tokenizer::Gpt2Tokenizer(BpeVocabulary vocabulary) : vocabulary_(std::move(vocabulary)) {}

Gpt2Tokenizer Gpt2Tokenizer::read(const std::string& dir, int vocab_size) {
  const std::optional<TokenizerFiles> files = find_tokenizer_files(dir);
  if (!files)
    throw InputError(dir + ": no tokenizer: " + kVocabFile + " and " + kMergesFile +
                     " are missing (a Hugging Face GPT-2 checkpoint carries them; "
                     "`gpt2-oracle export --tokenizer DIR` copies them in)");
  return Gpt2Tokenizer(read_bpe_vocabulary(*files, vocab_size));
}

bool Gpt2Tokenizer::has_token(int id) const {
  return id >= 0 && id < vocabulary_.vocab_size && vocabulary_.has_token[id];
}

const std::string& Gpt2Tokenizer::token_bytes(int id) const {
  GPT2_CHECK(has_token(id), "token_bytes of an id without a token");
  return vocabulary_.token_bytes[id];
}

std::vector<int> Gpt2Tokenizer::encode(std::string_view text, const std::string& source) {
  require_utf8(text, source);
  std::vector<int> ids;
  ids.reserve(text.size() / 3);
  pretokenizer_.split(text, [&](std::string_view piece) {
    if (piece.size() == 1) {  // one byte: its own token, nothing to merge or cache
      ids.push_back(vocabulary_.byte_token[static_cast<uint8_t>(piece[0])]);
      return;
    }
    if (auto hit = cache_.find(piece); hit != cache_.end()) {
      const auto begin = cached_ids_.begin() + hit->second.first;
      ids.insert(ids.end(), begin, begin + hit->second.count);
      return;
    }
    const size_t first = ids.size();
    byte_pair_encode(piece, ids);
    if (piece.size() <= kMaxCachedPieceBytes) {
      if (cache_.size() >= kMaxCachedPieces) clear_cache();
      cache_.emplace(std::string(piece),
                     CachedIds{uint32_t(cached_ids_.size()), uint32_t(ids.size() - first)});
      cached_ids_.insert(cached_ids_.end(), ids.begin() + first, ids.end());
    }
  });
  return ids;
}

// encoder.py's Encoder.bpe, on token ids instead of strings (a symbol string
// and its id name each other one to one, parse_bpe_vocabulary checks that
// every merge's parts and result are tokens), in O(n log n) instead of O(n²):
//
//   while True:
//       bigram = min(pairs, key=lambda pair: bpe_ranks.get(pair, inf))
//       if bigram not in bpe_ranks: break
//       merge every occurrence of bigram, scanning left to right
//
// The symbols form a linked list; a min-heap holds every adjacent pair that
// is a merge, ordered by (rank, position). A pass takes every entry of the
// lowest rank (all the same pair) in position order, so the occurrences are
// merged left to right as encoder.py's scan merges them ("a a a" becomes
// "aa a"); the pairs that a pass creates join the heap only after it, as
// encoder.py looks at the new word only in its next round. Entries made stale
// by an earlier merge are recognised by their ids and dropped.
void Gpt2Tokenizer::byte_pair_encode(std::string_view piece, std::vector<int>& ids) {
  const int n = static_cast<int>(piece.size());
  // Symbol i starts at byte i of the piece, so index order is text order.
  std::vector<Symbol>& symbols = symbols_;
  symbols.resize(n);
  for (int i = 0; i < n; ++i)
    symbols[i] = {vocabulary_.byte_token[static_cast<uint8_t>(piece[i])], i + 1 < n ? i + 1 : -1,
                  i - 1};

  std::vector<Candidate>& heap = heap_;
  heap.clear();
  const auto later = std::greater<>();
  auto consider = [&](int left) {
    if (left < 0 || symbols[left].next < 0) return;
    const int left_id = symbols[left].id, right_id = symbols[symbols[left].next].id;
    if (const MergeTable::Merge* m = vocabulary_.merges.find(left_id, right_id)) {
      heap.push_back({m->rank, left, left_id, right_id, m->merged});
      std::push_heap(heap.begin(), heap.end(), later);
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);

  std::vector<int>& merged_this_pass = merged_this_pass_;
  while (!heap.empty()) {
    const int rank = heap.front().rank;
    merged_this_pass.clear();
    while (!heap.empty() && heap.front().rank == rank) {
      std::pop_heap(heap.begin(), heap.end(), later);
      const Candidate c = heap.back();
      heap.pop_back();
      Symbol& left = symbols[c.left];
      if (left.id != c.left_id || left.next < 0) continue;  // stale
      Symbol& right = symbols[left.next];
      if (right.id != c.right_id) continue;  // stale
      left.id = c.merged;
      right.id = -1;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = c.left;
      merged_this_pass.push_back(c.left);
    }
    for (int i : merged_this_pass) {
      if (symbols[i].id < 0) continue;  // merged again later in the pass
      consider(symbols[i].prev);
      consider(i);
    }
  }
  for (int i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
}

std::string Gpt2Tokenizer::decode(std::span<const int> ids, const std::string& source) const {
  std::string bytes;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!has_token(ids[i]))
      throw InputError(source + ": id " + std::to_string(ids[i]) + " (at " + std::to_string(i) +
                       ") has no token in the vocabulary (" + std::to_string(n_tokens()) +
                       " tokens, vocab_size " + std::to_string(vocab_size()) + ")");
    bytes += vocabulary_.token_bytes[ids[i]];
  }
  return bytes;
}

}  // namespace gpt2
