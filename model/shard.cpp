#include "model/shard.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "model/error.h"
#include "model/json_strict.h"

namespace gpt2 {

namespace {

// A positive decimal integer without sign or leading zero, at most
// kMaxShards; nullopt otherwise.
std::optional<int> parse_count(const std::string& digits) {
  if (digits.empty() || digits.size() > 5 || digits[0] == '0') return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > kMaxShards) return std::nullopt;
  return value;
}

}  // namespace

std::string Shard::text() const { return std::to_string(index) + "/" + std::to_string(count); }

Shard parse_shard(const std::string& text, const std::string& source) {
  const std::string expected = "expected K/N with 1 <= K <= N <= " + std::to_string(kMaxShards) +
                               " (e.g. 2/3), found " + quote_for_message(text);
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw InputError(source + ": " + expected);
  const auto k = parse_count(text.substr(0, slash));
  const auto n = parse_count(text.substr(slash + 1));
  if (!k || !n || *k > *n) throw InputError(source + ": " + expected);
  return Shard{*k, *n};
}

std::optional<Shard> resolve_shard(const std::string& option,
                                   const std::function<const char*(const char*)>& getenv) {
  if (!option.empty()) return parse_shard(option, "--shard");
  const char* total = getenv("GTEST_TOTAL_SHARDS");
  const char* index = getenv("GTEST_SHARD_INDEX");
  if (!total && !index) return std::nullopt;
  if (!total || !index)
    throw InputError(std::string(total ? "GTEST_SHARD_INDEX" : "GTEST_TOTAL_SHARDS") +
                     ": not set, but " + (total ? "GTEST_TOTAL_SHARDS" : "GTEST_SHARD_INDEX") +
                     " is (the two go together)");
  const auto n = parse_count(total);
  if (!n)
    throw InputError("GTEST_TOTAL_SHARDS: expected an integer from 1 to " +
                     std::to_string(kMaxShards) + ", found " + quote_for_message(total));
  // GoogleTest counts shards from 0.
  const std::string index_text = index;
  const auto k = index_text == "0" ? std::optional<int>(0) : parse_count(index_text);
  if (!k || *k >= *n)
    throw InputError("GTEST_SHARD_INDEX: expected an integer from 0 to " + std::to_string(*n - 1) +
                     " (GTEST_TOTAL_SHARDS is " + std::to_string(*n) + "), found " +
                     quote_for_message(index_text));
  if (const char* status = getenv("GTEST_SHARD_STATUS_FILE"); status && *status) {
    std::FILE* f = std::fopen(status, "a");
    if (!f)
      throw InputError(std::string("GTEST_SHARD_STATUS_FILE: cannot create ") +
                       quote_for_message(status));
    std::fclose(f);
  }
  return Shard{*k + 1, *n};
}

std::vector<int> assign_to_shards(const std::vector<double>& costs, int count) {
  GPT2_CHECK(count >= 1, "at least one shard");
  std::vector<size_t> order(costs.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return costs[a] > costs[b]; });
  std::vector<double> load(count, 0.0);
  std::vector<int> shard(costs.size(), 1);
  for (size_t i : order) {
    const int least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += costs[i];
    shard[i] = least + 1;
  }
  return shard;
}

}  // namespace gpt2
