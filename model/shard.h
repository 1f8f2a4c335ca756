// Shards: the K-th of N deterministic slices of a list of work items, so
// that CI runners (a job matrix) split one run between them and a merge
// puts the pieces back together (gpt2-oracle report merge).
//
// A shard is written "K/N", 1 <= K <= N, on the command line (--shard) and
// in reports. The GoogleTest convention CI systems already set,
// GTEST_TOTAL_SHARDS = N and GTEST_SHARD_INDEX = K - 1 (from 0), is honoured
// when --shard is not given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gpt2 {

// More shards than any CI matrix has jobs; a larger N is surely a typo.
inline constexpr int kMaxShards = 10000;

struct Shard {
  int index = 1;             // K, from 1
  int count = 1;             // N
  std::string text() const;  // "K/N"
  bool operator==(const Shard&) const = default;
};

// "K/N": two decimal integers without sign, spaces or leading zeros, 1 <= K
// <= N <= kMaxShards. InputError "<source>: ..." otherwise.
Shard parse_shard(const std::string& text, const std::string& source);

// The shard a run is: `option` (the text of --shard, empty when not given),
// else GTEST_TOTAL_SHARDS / GTEST_SHARD_INDEX read through `getenv` when
// either is set (both must be, and agree with the rules above), else none.
// When the GoogleTest variables are used and GTEST_SHARD_STATUS_FILE is set,
// that file is created, as GoogleTest does, to tell the runner the program
// understood the sharding.
std::optional<Shard> resolve_shard(
    const std::string& option,
    const std::function<const char*(const char*)>& getenv = [](const char* name) -> const char* {
      return std::getenv(name);
    });

// Which shard (1..count) each item goes to: items of cost costs[i], given
// out heaviest first (the earlier item first among equals) to the shard
// with the least cost so far (the lower index among equals). The same costs
// give the same assignment on every machine; every shard's total is within
// the heaviest item of the others'.
std::vector<int> assign_to_shards(const std::vector<double>& costs, int count);

}  // namespace gpt2
