// The truth cache: what is expensive to compute and the same every time it
// is computed (the 50-digit truth of a case with its ensemble and budgets,
// the replay's op truths, a fixture's certification, a mask ablation), kept
// on disk under a key that is the SHA-256 of everything it depends on.
//
// A key covers the weights' content (weights_sha256: a preset, a checkpoint,
// the same weights rounded to bf16 or scaled to GPT-2's activations are each
// their own), the config, the tokens, the mask, the precision, the trace
// level, the ensemble's seed, kTruthVersion and the budget rule with its
// constants (tolerance.h, spelled out by describe_budget_rule()). Nothing
// else goes into a truth (results do not depend on the thread count), so an
// entry found under a key is that computation's result.
//
// Entries are files DIR/<key>.entry in model/cache_entry.h's format, written
// by model/files.h's protocol (a temporary beside the file, fsynced, renamed:
// readers see a whole entry or none; concurrent writers of one key each
// write a whole entry, the last rename wins). Every read verifies the
// entry's SHA-256 and shape: a damaged entry is reported in one line on
// stderr and recomputed (then rewritten), never trusted. A hit refreshes the
// file's modification time, which `cache prune` reads as "last used". The
// cache is best effort: a directory that cannot be written is one warning
// line, and the run goes on computing.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/cache_entry.h"
#include "model/error.h"
#include "model/modes.h"
#include "model/trace.h"
#include "model/weights.h"
#include "oracle/budget.h"
#include "oracle/replay.h"

namespace gpt2::oracle {

// Raise whenever the reference's, the ensemble's or the replay's arithmetic
// changes any bit of what an entry holds (the budget rule's constants are in
// the key already): old entries then simply stop being found.
inline constexpr int kTruthVersion = 1;

// The default directory: $XDG_CACHE_HOME/gpt2-oracle/truth (an absolute
// XDG_CACHE_HOME only, as the XDG specification says), else
// $HOME/.cache/gpt2-oracle/truth; "" (no cache) when neither is set.
std::string default_truth_cache_dir();

// Everything an entry depends on. key() is the SHA-256 of text().
struct TruthKey {
  std::string kind;     // "reference", "replay", "certification", "mask-ablation", "calibration"
  std::string weights;  // weights_sha256 (empty for "calibration")
  Config config;
  std::vector<int> tokens;
  Mask mask = Mask::causal;
  std::string precision = "50";
  TraceLevel level = TraceLevel::ops;
  uint64_t seed = 0;
  std::string extra;  // anything else the kind depends on
  std::string text() const;
  std::string key() const;
};

struct CacheStats {
  int hits = 0;
  int computed = 0;  // misses, damaged entries included
  int damaged = 0;
  int written = 0;
};

// One entry as `cache list` shows it.
struct ListedEntry {
  std::string path;
  std::string key;  // "" when the head does not parse
  std::string kind;
  std::string description;
  uint64_t bytes = 0;
  int64_t last_used = 0;  // seconds since the epoch (modification time)
  std::string problem;    // why the head does not parse; "" when it does
};

class TruthCache {
 public:
  // Disabled (every lookup misses, nothing is written) when `dir` is empty.
  explicit TruthCache(std::string dir = "");
  bool enabled() const { return !dir_.empty(); }
  const std::string& dir() const { return dir_; }
  std::string path_of(const std::string& key) const;

  // The verified entry under `key`, of `kind`; nullopt when absent, or
  // damaged (one warning line on stderr, and stats().damaged).
  std::optional<CacheEntry> get(const std::string& kind, const std::string& key) const;
  // Stores `entry` (directory created as needed). A failure is one warning
  // line, once per cache; never an error.
  void put(const CacheEntry& entry) const;
  // Reports an entry that was read but does not fit what it should hold
  // (decode failed): one warning line, counted as damaged.
  void report_damaged(const std::string& key, const std::string& why) const;

  // get, decode, or else compute and put: the one way callers use the
  // cache. `decode` throws InputError for an entry that does not fit (then
  // it is reported damaged and recomputed).
  template <class T>
  T fetch(const std::string& kind, const std::string& key, const std::string& description,
          const std::function<T(const CacheEntry&)>& decode, const std::function<T()>& compute,
          const std::function<CacheEntry(const T&)>& encode) const;

  CacheStats& stats() const { return stats_; }

  // Every *.entry file of the directory with its head (not verified), in
  // order of last use, oldest first.
  std::vector<ListedEntry> list() const;
  // Verifies one entry's file completely: "" when sound, else why not.
  static std::string verify_file(const std::string& path);
  // Removes entries (damaged heads first, then the least recently used)
  // until the total is at most `max_bytes`, and the temporaries of killed
  // runs. Returns the entries removed.
  std::vector<ListedEntry> prune(uint64_t max_bytes) const;

 private:
  std::string dir_;
  mutable CacheStats stats_;
  mutable bool write_failed_ = false;
};

// ---- what the oracle keeps -------------------------------------------------------

// The key of compute_reference(weights, tokens, mask, seed) and of its
// replay reference (kind "replay"). `weights_sha256` of the weights.
// `precision`: "50", or "dd/<checked tokens>" for a dd truth (its certificate
// depends on how many positions were checked against 50 digits).
TruthKey reference_key(const std::string& weights_sha256, const Config& config,
                       const std::vector<int>& tokens, Mask mask, uint64_t seed,
                       const std::string& kind = "reference", const std::string& precision = "50");

CacheEntry encode_reference(const Reference& r, const std::string& key,
                            const std::string& description);
// InputError naming the entry when its arrays do not make a Reference of
// `config` over `n_tokens` tokens.
Reference decode_reference(const CacheEntry& e, const Config& config, int n_tokens);

CacheEntry encode_replay_reference(const ReplayReference& r, const std::string& key,
                                   const std::string& description);
ReplayReference decode_replay_reference(const CacheEntry& e, const Config& config,
                                        const std::vector<int>& tokens, Mask mask,
                                        const Trace<double>& truth);

// A Trace<double> (any level) as arrays "<prefix><tensor name>", and back
// (every tensor of `level` present with its shape, or InputError).
void encode_trace(CacheEntry& e, const std::string& prefix, const Trace<double>& trace);
Trace<double> decode_trace(const CacheEntry& e, const std::string& prefix, const Config& config,
                           int n_tokens, TraceLevel level);

// Budgets as arrays "<prefix>.<field>", and back.
void encode_budgets(CacheEntry& e, const std::string& prefix, const std::vector<Budget>& budgets);
std::vector<Budget> decode_budgets(const CacheEntry& e, const std::string& prefix, size_t count);

// compute_reference through the cache. Under a profile other than f32 the
// key's "extra" is the profile's JSON (its every rounding point, not just its
// name), and the entry holds the profile's name and the flip allowances;
// f32 keys and entries are as they were before profiles.
Reference cached_reference(const TruthCache& cache, const Weights<float>& weights,
                           const std::string& weights_sha256, const std::vector<int>& tokens,
                           Mask mask, uint64_t seed, int threads, bool progress,
                           const std::string& description, const TruthPrecision& precision = {},
                           const Profile& profile = find_profile("f32"));
// compute_replay_reference (every op) through the cache.
ReplayReference cached_replay_reference(const TruthCache& cache, const Weights<float>& weights,
                                        const std::string& weights_sha256,
                                        const std::vector<int>& tokens, Mask mask,
                                        const Trace<double>& truth, uint64_t seed, int threads,
                                        const std::string& description);

// ---- template definition ------------------------------------------------------------

template <class T>
T TruthCache::fetch(const std::string& kind, const std::string& key, const std::string& description,
                    const std::function<T(const CacheEntry&)>& decode,
                    const std::function<T()>& compute,
                    const std::function<CacheEntry(const T&)>& encode) const {
  if (std::optional<CacheEntry> entry = get(kind, key)) {
    try {
      T value = decode(*entry);
      ++stats_.hits;
      return value;
    } catch (const InputError& e) {
      report_damaged(key, e.what());
    }
  }
  ++stats_.computed;
  T value = compute();
  if (enabled()) {
    CacheEntry entry = encode(value);
    entry.kind = kind;
    entry.key = key;
    entry.description = description;
    put(entry);
  }
  return value;
}

}  // namespace gpt2::oracle
