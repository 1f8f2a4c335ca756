// The truth cache: an entry gives back the very bits it was given, a second
// lookup computes nothing, a damaged or misfiled entry is recomputed (never
// trusted), every input changes the key, and prune keeps the recently used.
#include "oracle/truth_cache.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "model/files.h"
#include "optimized/kernels.h"

namespace gpt2::oracle {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed at the end.
class TempDir {
 public:
  TempDir()
      : path_(fs::temp_directory_path() /
              ("gpt2_truth_cache_test_" + std::to_string(::getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

bool same_bits(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

void expect_same_budgets(const std::vector<Budget>& a, const std::vector<Budget>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].baseline_error, b[i].baseline_error) << i;
    EXPECT_EQ(a[i].shared_error, b[i].shared_error) << i;
    EXPECT_EQ(a[i].multiplier, b[i].multiplier) << i;
    EXPECT_EQ(a[i].floor, b[i].floor) << i;
    EXPECT_EQ(a[i].block_input.tensor, b[i].block_input.tensor) << i;
    EXPECT_EQ(a[i].block_input.gain, b[i].block_input.gain) << i;
    ASSERT_EQ(a[i].inputs.size(), b[i].inputs.size()) << i;
    for (size_t k = 0; k < a[i].inputs.size(); ++k) {
      EXPECT_EQ(a[i].inputs[k].tensor, b[i].inputs[k].tensor);
      EXPECT_EQ(a[i].inputs[k].gain, b[i].inputs[k].gain);
    }
  }
}

void expect_same_reference(const Reference& a, const Reference& b) {
  std::vector<const std::vector<double>*> ta, tb;
  for_each_trace_tensor(a.truth, [&](const std::string&, const std::vector<double>& t,
                                     const Shape&) { ta.push_back(&t); });
  for_each_trace_tensor(b.truth, [&](const std::string&, const std::vector<double>& t,
                                     const Shape&) { tb.push_back(&t); });
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) EXPECT_TRUE(same_bits(*ta[i], *tb[i])) << i;
  EXPECT_TRUE(same_bits(a.baseline_errors, b.baseline_errors));
  EXPECT_TRUE(same_bits(a.shared_errors, b.shared_errors));
  EXPECT_TRUE(same_bits(a.float32_errors, b.float32_errors));
  expect_same_budgets(a.budgets, b.budgets);
}

struct Case {
  Weights<float> weights = preset_weights("tiny");
  std::string digest = weights_sha256(weights);
  std::vector<int> tokens = {5, 17, 3};
};

TEST(TruthCache, ReferenceAndReplayRoundTripBitForBit) {
  const Case c;
  const Reference r = compute_reference(c.weights, c.tokens, Mask::causal, 1, 1);
  const std::string key = std::string(64, 'b');
  const CacheEntry e =
      parse_cache_entry(serialize_cache_entry(encode_reference(r, key, "tiny")), "entry");
  expect_same_reference(r, decode_reference(e, c.weights.config, 3));
  // Decoded against the wrong shape, it is refused, not misread.
  EXPECT_THROW(decode_reference(e, c.weights.config, 4), InputError);

  const ReplayReference rr =
      compute_replay_reference(c.weights, c.tokens, Mask::causal, r.truth, 1);
  const CacheEntry re =
      parse_cache_entry(serialize_cache_entry(encode_replay_reference(rr, key, "tiny")), "entry");
  const ReplayReference back =
      decode_replay_reference(re, c.weights.config, c.tokens, Mask::causal, r.truth);
  ASSERT_EQ(back.ops.size(), rr.ops.size());
  EXPECT_EQ(back.stochastic_runs, rr.stochastic_runs);
  for (size_t i = 0; i < rr.ops.size(); ++i) {
    EXPECT_EQ(back.ops[i].id, rr.ops[i].id);
    EXPECT_TRUE(same_bits(back.ops[i].truth, rr.ops[i].truth)) << i;
    EXPECT_EQ(back.ops[i].input, rr.ops[i].input) << i;
    EXPECT_EQ(back.ops[i].residual, rr.ops[i].residual) << i;
    expect_same_budgets({back.ops[i].budget}, {rr.ops[i].budget});
  }
}

TEST(TruthCache, ASecondLookupReadsWhatTheFirstComputed) {
  const TempDir dir;
  const Case c;
  const TruthCache cache(dir.str());
  const Reference first =
      cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  EXPECT_EQ(cache.stats().computed, 1);
  EXPECT_EQ(cache.stats().written, 1);
  const Reference second =
      cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  EXPECT_EQ(cache.stats().hits, 1);
  EXPECT_EQ(cache.stats().computed, 1);
  expect_same_reference(first, second);
  // Another seed is another computation.
  (void)cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 2, 1, false, "tiny");
  EXPECT_EQ(cache.stats().computed, 2);
  // A disabled cache computes every time and writes nothing.
  const TruthCache off;
  (void)cached_reference(off, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  EXPECT_EQ(off.stats().computed, 1);
  EXPECT_EQ(off.stats().written, 0);
}

TEST(TruthCache, ADamagedEntryIsDetectedRecomputedAndRewritten) {
  const TempDir dir;
  const Case c;
  const TruthCache cache(dir.str());
  const Reference original =
      cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  const std::string key =
      reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 1).key();
  const std::string path = cache.path_of(key);
  ASSERT_EQ(TruthCache::verify_file(path), "");
  std::string bytes = read_file(path);
  bytes[bytes.size() - 5] ^= 0x01;  // one bit of the last tensor's data
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes; }
  EXPECT_THAT(TruthCache::verify_file(path), ::testing::HasSubstr("damaged"));

  ::testing::internal::CaptureStderr();
  const Reference again =
      cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(err, ::testing::HasSubstr("recomputing it"));
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(cache.stats().damaged, 1);
  EXPECT_EQ(cache.stats().computed, 2);
  expect_same_reference(original, again);
  EXPECT_EQ(TruthCache::verify_file(path), "");  // rewritten whole
}

TEST(TruthCache, AnEntryFiledUnderAnotherKeyIsNotTrusted) {
  const TempDir dir;
  const Case c;
  const TruthCache cache(dir.str());
  (void)cached_reference(cache, c.weights, c.digest, c.tokens, Mask::causal, 1, 1, false, "tiny");
  const std::string key =
      reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 1).key();
  const std::string other =
      reference_key(c.digest, c.weights.config, c.tokens, Mask::none, 1).key();
  fs::copy_file(cache.path_of(key), cache.path_of(other));
  ::testing::internal::CaptureStderr();
  const Reference none =
      cached_reference(cache, c.weights, c.digest, c.tokens, Mask::none, 1, 1, false, "tiny");
  EXPECT_THAT(::testing::internal::GetCapturedStderr(), ::testing::HasSubstr("another key"));
  EXPECT_EQ(cache.stats().damaged, 1);
  // It is the unmasked truth, not the causal one it was handed.
  expect_same_reference(none, compute_reference(c.weights, c.tokens, Mask::none, 1, 1));
}

TEST(TruthCache, EveryInputChangesTheKey) {
  const Case c;
  const TruthKey base = reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 1);
  EXPECT_EQ(base.key(), reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 1).key());
  const Weights<float> rounded = optimized::find_kernel("bf16").weights_used(c.weights);
  EXPECT_NE(weights_sha256(rounded), c.digest);
  const std::vector<TruthKey> others = {
      reference_key(weights_sha256(rounded), c.weights.config, c.tokens, Mask::causal, 1),
      reference_key(c.digest, c.weights.config, {5, 17}, Mask::causal, 1),
      reference_key(c.digest, c.weights.config, c.tokens, Mask::none, 1),
      reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 2),
      reference_key(c.digest, c.weights.config, c.tokens, Mask::causal, 1, "replay")};
  for (const TruthKey& k : others) EXPECT_NE(k.key(), base.key()) << k.text();
  TruthKey level = base;
  level.level = TraceLevel::blocks;
  EXPECT_NE(level.key(), base.key());
  EXPECT_TRUE(is_cache_key(base.key()));
}

TEST(TruthCache, PruneRemovesTheLeastRecentlyUsedAndWhatIsNotAnEntry) {
  const TempDir dir;
  const TruthCache cache(dir.str());
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) {
    CacheEntry e;
    e.kind = "test";
    e.key = sha256_hex(std::to_string(i));
    e.description = "entry " + std::to_string(i);
    e.arrays.emplace_back("data", std::vector<double>(100, i));
    cache.put(e);
    keys.push_back(e.key);
    // Last used i hours ago, newest first: entry 3 is the oldest.
    const struct timespec t[2] = {{0, UTIME_OMIT}, {::time(nullptr) - 3600 * i, 0}};
    ::utimensat(AT_FDCWD, cache.path_of(e.key).c_str(), t, 0);
  }
  { std::ofstream(dir.str() + "/" + std::string(64, 'c') + ".entry") << "not an entry"; }
  const std::vector<ListedEntry> listed = cache.list();
  ASSERT_EQ(listed.size(), 5u);
  uint64_t one = 0;
  for (const ListedEntry& l : listed)
    if (l.key == keys[0]) one = l.bytes;
  const std::vector<ListedEntry> removed = cache.prune(2 * one);
  ASSERT_EQ(removed.size(), 3u);
  EXPECT_FALSE(removed[0].problem.empty());  // the file that is not an entry goes first
  EXPECT_EQ(removed[1].key, keys[3]);
  EXPECT_EQ(removed[2].key, keys[2]);
  EXPECT_TRUE(fs::exists(cache.path_of(keys[0])));
  EXPECT_TRUE(fs::exists(cache.path_of(keys[1])));
  EXPECT_EQ(cache.prune(0).size(), 2u);
  EXPECT_TRUE(cache.list().empty());
}

TEST(TruthCache, DefaultDirectoryFollowsXdgCacheHome) {
  const char* saved_xdg = std::getenv("XDG_CACHE_HOME");
  const std::string xdg = saved_xdg ? saved_xdg : "";
  const std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  ::setenv("XDG_CACHE_HOME", "/somewhere/cache", 1);
  EXPECT_EQ(default_truth_cache_dir(), "/somewhere/cache/gpt2-oracle/truth");
  ::setenv("XDG_CACHE_HOME", "relative", 1);  // ignored, as the specification says
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(default_truth_cache_dir(), "/home/someone/.cache/gpt2-oracle/truth");
  if (saved_xdg)
    ::setenv("XDG_CACHE_HOME", xdg.c_str(), 1);
  else
    ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", home.c_str(), 1);
}

}  // namespace
}  // namespace gpt2::oracle
