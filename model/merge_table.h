// The merges of a byte-pair vocabulary, looked up by (left id, right id).
//
// The encoder looks up every adjacent pair of symbols it sees, so this is its
// hottest lookup: an open-addressing hash table (linear probing, Fibonacci
// hashing of the 64-bit pair, at most half full) in one flat array. A
// node-based std::unordered_map spent a third of the encoder's time in cache
// misses on GPT-2's 50,000 merges (perf, bench/tokenizer_bench ZipfTokensCold).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gpt2 {

class MergeTable {
 public:
  struct Merge {
    int rank = 0;    // 0 for the first merge of merges.txt
    int merged = 0;  // the id of the concatenation
  };

  // Adds the merge of (left, right); false (and no change) when the pair is
  // already there. Ids are non-negative.
  bool insert(int left, int right, Merge merge) {
    if (2 * (size_ + 1) > slots_.size()) grow();
    Slot& slot = slots_[find_slot(key(left, right))];
    if (slot.key != kEmpty) return false;
    slot = {key(left, right), merge};
    ++size_;
    return true;
  }

  // The merge of (left, right), or nullptr when the pair is no merge.
  const Merge* find(int left, int right) const {
    if (slots_.empty()) return nullptr;
    const Slot& slot = slots_[find_slot(key(left, right))];
    return slot.key == kEmpty ? nullptr : &slot.merge;
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // no pair of non-negative ids
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge;
  };

  static uint64_t key(int left, int right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }

  // The slot holding `k`, or the empty slot where it would go.
  size_t find_slot(uint64_t k) const {
    const size_t mask = slots_.size() - 1;
    size_t i = size_t((k * 0x9e3779b97f4a7c15ull) >> shift_) & mask;
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & mask;
    return i;
  }

  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : 2 * old.size(), Slot{});
    shift_ = 64;
    for (size_t n = slots_.size(); n > 1; n >>= 1) --shift_;  // 64 - log2(size)
    for (const Slot& s : old)
      if (s.key != kEmpty) slots_[find_slot(s.key)] = s;
  }

  std::vector<Slot> slots_;  // a power of two of them
  int shift_ = 64;
  size_t size_ = 0;
};

}  // namespace gpt2
