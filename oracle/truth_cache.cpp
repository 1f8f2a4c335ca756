#include "oracle/truth_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/error.h"
#include "model/files.h"
#include "model/tokens.h"
#include "model/utf8.h"
#include "oracle/ensemble.h"
#include "oracle/flips.h"
#include "oracle/tolerance.h"

namespace gpt2::oracle {

namespace fs = std::filesystem;

namespace {

constexpr const char* kEntrySuffix = ".entry";

// One line of printable UTF-8 within the entry format's limit.
std::string sanitized_description(const std::string& text) {
  std::string out = utf8_for_display(text);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (out.size() > kMaxCacheDescriptionBytes) {
    size_t cut = kMaxCacheDescriptionBytes - 3;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

int64_t modification_time(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : 0;
}

// An integer stored as a double, checked.
int as_index(double v, double limit, const std::string& what, const std::string& source) {
  if (!(v >= -1 && v < limit) || v != std::floor(v))
    throw InputError(source + ": " + what + " is not an index below " +
                     std::to_string(static_cast<long long>(limit)));
  return static_cast<int>(v);
}

}  // namespace

std::string default_truth_cache_dir() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && xdg[0] == '/') return std::string(xdg) + "/gpt2-oracle/truth";
  const char* home = std::getenv("HOME");
  if (home && home[0] != '\0') return std::string(home) + "/.cache/gpt2-oracle/truth";
  return "";
}

std::string TruthKey::text() const {
  std::string t = "gpt2-oracle truth cache key\n";
  t += "kind " + kind + "\n";
  t += "truth_version " + std::to_string(kTruthVersion) + "\n";
  t += "budget_rule " + describe_budget_rule() + "\n";
  std::string members;
  for (const EnsembleMember& m : ensemble_members())
    members += m.name + ": " + m.description + "; ";
  t += "ensemble " + members + "\n";
  t += "weights " + weights + "\n";
  t += "config " + config_to_json(config) + "\n";
  t += "tokens " + format_tokens(tokens) + "\n";
  t += "mask " + std::string(mask_name(mask)) + "\n";
  t += "precision " + precision + "\n";
  t += "trace_level " + std::string(trace_level_name(level)) + "\n";
  t += "seed " + std::to_string(seed) + "\n";
  t += "extra " + extra + "\n";
  return t;
}

std::string TruthKey::key() const { return sha256_hex(text()); }

// ---- the store ----------------------------------------------------------------------

TruthCache::TruthCache(std::string dir) : dir_(std::move(dir)) {}

std::string TruthCache::path_of(const std::string& key) const {
  return (fs::path(dir_) / (key + kEntrySuffix)).string();
}

std::optional<CacheEntry> TruthCache::get(const std::string& kind, const std::string& key) const {
  if (!enabled()) return std::nullopt;
  const std::string path = path_of(key);
  if (path_kind(path) == PathKind::missing) return std::nullopt;
  try {
    CacheEntry e = parse_cache_entry(read_file(path), path);
    if (e.key != key || e.kind != kind)
      throw InputError(path + ": holds the entry of another key or kind");
    ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // "last used", for prune
    return e;
  } catch (const InputError& e) {
    ++stats_.damaged;
    std::fprintf(stderr, "gpt2-oracle: truth cache: %s; recomputing it\n", e.what());
    return std::nullopt;
  }
}

void TruthCache::report_damaged(const std::string& key, const std::string& why) const {
  ++stats_.damaged;
  std::fprintf(stderr,
               "gpt2-oracle: truth cache: %s does not hold what it should (%s); "
               "recomputing it\n",
               path_of(key).c_str(), why.c_str());
}

void TruthCache::put(const CacheEntry& entry) const {
  if (!enabled() || write_failed_) return;
  try {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw InputError(dir_ + ": cannot create it (" + ec.message() + ")");
    CacheEntry e = entry;
    e.description = sanitized_description(e.description);
    write_file_atomic(path_of(e.key), serialize_cache_entry(e));
    ++stats_.written;
  } catch (const InputError& e) {
    write_failed_ = true;
    std::fprintf(stderr, "gpt2-oracle: truth cache: not stored: %s (the run goes on)\n", e.what());
  }
}

std::vector<ListedEntry> TruthCache::list() const {
  std::vector<ListedEntry> out;
  if (!enabled()) return out;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || name.size() <= 6 ||
        name.compare(name.size() - 6, 6, kEntrySuffix) != 0)
      continue;
    std::error_code status_ec;
    if (!it->is_regular_file(status_ec)) continue;
    ListedEntry l;
    l.path = it->path().string();
    l.bytes = it->file_size(status_ec);
    l.last_used = modification_time(l.path);
    try {
      std::ifstream in(l.path, std::ios::binary);
      std::string head(4096, '\0');
      in.read(head.data(), static_cast<std::streamsize>(head.size()));
      head.resize(static_cast<size_t>(in.gcount()));
      const CacheEntry e = parse_cache_entry_head(head, l.path);
      if (e.key + kEntrySuffix != name) throw InputError(l.path + ": its key is not its name");
      l.key = e.key;
      l.kind = e.kind;
      l.description = e.description;
    } catch (const InputError& e) {
      l.problem = e.what();
    }
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const ListedEntry& a, const ListedEntry& b) {
    return a.last_used != b.last_used ? a.last_used < b.last_used : a.path < b.path;
  });
  return out;
}

std::string TruthCache::verify_file(const std::string& path) {
  try {
    const CacheEntry e = parse_cache_entry(read_file(path), path);
    if (fs::path(path).filename().string() != e.key + kEntrySuffix)
      return path + ": its key is not its name";
    return "";
  } catch (const InputError& e) {
    return e.what();
  }
}

std::vector<ListedEntry> TruthCache::prune(uint64_t max_bytes) const {
  std::vector<ListedEntry> removed;
  if (!enabled()) return removed;
  remove_abandoned_temporaries(dir_);
  std::vector<ListedEntry> entries = list();
  // Entries whose head does not parse go first, then the least recently used.
  std::stable_partition(entries.begin(), entries.end(),
                        [](const ListedEntry& e) { return !e.problem.empty(); });
  uint64_t total = 0;
  for (const ListedEntry& e : entries) total += e.bytes;
  for (const ListedEntry& e : entries) {
    if (total <= max_bytes && e.problem.empty()) break;
    std::error_code ec;
    if (fs::remove(e.path, ec) || !fs::exists(e.path)) {
      total -= std::min(total, e.bytes);
      removed.push_back(e);
    }
  }
  return removed;
}

// ---- codecs -------------------------------------------------------------------------

void encode_trace(CacheEntry& e, const std::string& prefix, const Trace<double>& trace) {
  for_each_trace_tensor(trace, [&](const std::string& name, const std::vector<double>& t,
                                   const Shape&) { e.arrays.emplace_back(prefix + name, t); });
}

Trace<double> decode_trace(const CacheEntry& e, const std::string& prefix, const Config& config,
                           int n_tokens, TraceLevel level) {
  Trace<double> trace = make_trace<double>(config, n_tokens, level);
  const std::string source = "truth cache entry " + e.key;
  for_each_trace_tensor(trace,
                        [&](const std::string& name, std::vector<double>& t, const Shape& shape) {
                          t = e.array(prefix + name, element_count(shape), source);
                        });
  return trace;
}

void encode_budgets(CacheEntry& e, const std::string& prefix, const std::vector<Budget>& budgets) {
  std::vector<double> baseline, shared, multiplier, floor, block_tensor, block_gain, counts,
      input_tensor, input_gain;
  for (const Budget& b : budgets) {
    baseline.push_back(b.baseline_error);
    shared.push_back(b.shared_error);
    multiplier.push_back(b.multiplier);
    floor.push_back(b.floor);
    block_tensor.push_back(b.block_input.tensor);
    block_gain.push_back(b.block_input.gain);
    counts.push_back(static_cast<double>(b.inputs.size()));
    for (const BudgetInput& in : b.inputs) {
      input_tensor.push_back(in.tensor);
      input_gain.push_back(in.gain);
    }
  }
  e.arrays.emplace_back(prefix + ".baseline_error", baseline);
  e.arrays.emplace_back(prefix + ".shared_error", shared);
  e.arrays.emplace_back(prefix + ".multiplier", multiplier);
  e.arrays.emplace_back(prefix + ".floor", floor);
  e.arrays.emplace_back(prefix + ".block_input_tensor", block_tensor);
  e.arrays.emplace_back(prefix + ".block_input_gain", block_gain);
  e.arrays.emplace_back(prefix + ".input_count", counts);
  e.arrays.emplace_back(prefix + ".input_tensor", input_tensor);
  e.arrays.emplace_back(prefix + ".input_gain", input_gain);
}

std::vector<Budget> decode_budgets(const CacheEntry& e, const std::string& prefix, size_t count) {
  const std::string source = "truth cache entry " + e.key;
  const long long n = static_cast<long long>(count);
  const auto& baseline = e.array(prefix + ".baseline_error", n, source);
  const auto& shared = e.array(prefix + ".shared_error", n, source);
  const auto& multiplier = e.array(prefix + ".multiplier", n, source);
  const auto& floor = e.array(prefix + ".floor", n, source);
  const auto& block_tensor = e.array(prefix + ".block_input_tensor", n, source);
  const auto& block_gain = e.array(prefix + ".block_input_gain", n, source);
  const auto& counts = e.array(prefix + ".input_count", n, source);
  const auto& input_tensor = e.array(prefix + ".input_tensor", -1, source);
  const auto& input_gain = e.array(prefix + ".input_gain", input_tensor.size(), source);
  std::vector<Budget> out(count);
  size_t next = 0;
  for (size_t i = 0; i < count; ++i) {
    Budget& b = out[i];
    b.baseline_error = baseline[i];
    b.shared_error = shared[i];
    b.multiplier = multiplier[i];
    b.floor = floor[i];
    b.block_input.tensor = as_index(block_tensor[i], double(count), "a block input", source);
    b.block_input.gain = block_gain[i];
    const int inputs =
        as_index(counts[i], double(input_tensor.size() - next) + 1, "an input count", source);
    if (inputs < 0) throw InputError(source + ": a negative input count");
    for (int k = 0; k < inputs; ++k, ++next) {
      const int t = as_index(input_tensor[next], double(count), "an input tensor", source);
      if (t < 0) throw InputError(source + ": an input tensor of -1");
      b.inputs.push_back({t, input_gain[next]});
    }
  }
  if (next != input_tensor.size()) throw InputError(source + ": inputs left over");
  return out;
}

TruthKey reference_key(const std::string& weights_sha256, const Config& config,
                       const std::vector<int>& tokens, Mask mask, uint64_t seed,
                       const std::string& kind, const std::string& precision) {
  TruthKey k;
  k.kind = kind;
  k.weights = weights_sha256;
  k.config = config;
  k.tokens = tokens;
  k.mask = mask;
  k.precision = precision;
  k.level = TraceLevel::ops;
  k.seed = seed;
  return k;
}

CacheEntry encode_reference(const Reference& r, const std::string& key,
                            const std::string& description) {
  CacheEntry e;
  e.kind = "reference";
  e.key = key;
  e.description = description;
  e.fields["n_tokens"] = std::to_string(r.truth.n_tokens);
  encode_trace(e, "truth.", r.truth);
  e.arrays.emplace_back("baseline_errors", r.baseline_errors);
  e.arrays.emplace_back("shared_errors", r.shared_errors);
  e.arrays.emplace_back("float32_errors", r.float32_errors);
  encode_budgets(e, "budgets", r.budgets);
  if (r.profile != "f32") {  // under a profile; f32 entries stay as they were
    e.fields["profile"] = r.profile;
    std::vector<double> flips;
    for (const Budget& b : r.budgets) flips.push_back(b.flip_allowance);
    e.arrays.emplace_back("budgets.flip_allowance", flips);
  }
  if (r.truth_precision != "50") {  // a dd truth's certificate; 50-digit entries stay as they were
    e.fields["truth_precision"] = r.truth_precision;
    e.fields["checked_tokens"] = std::to_string(r.checked_tokens);
    e.arrays.emplace_back("certified_digits", std::vector<double>(r.certified_digits.begin(),
                                                                  r.certified_digits.end()));
  }
  return e;
}

Reference decode_reference(const CacheEntry& e, const Config& config, int n_tokens) {
  const std::string source = "truth cache entry " + e.key;
  Reference r;
  r.truth = decode_trace(e, "truth.", config, n_tokens, TraceLevel::ops);
  const size_t n = trace_tensor_ids(config.n_layer, TraceLevel::ops).size();
  r.baseline_errors = e.array("baseline_errors", static_cast<long long>(n), source);
  r.shared_errors = e.array("shared_errors", static_cast<long long>(n), source);
  r.float32_errors = e.array("float32_errors", static_cast<long long>(n), source);
  r.budgets = decode_budgets(e, "budgets", n);
  if (e.fields.count("profile")) {
    r.profile = e.field("profile", source);
    const auto& flips = e.array("budgets.flip_allowance", static_cast<long long>(n), source);
    for (size_t i = 0; i < n; ++i) {
      if (!(flips[i] >= 0)) throw InputError(source + ": a flip allowance below 0 or NaN");
      r.budgets[i].flip_allowance = flips[i];
    }
  }
  if (e.fields.count("truth_precision")) {
    r.truth_precision = e.field("truth_precision", source);
    if (r.truth_precision != "dd") throw InputError(source + ": truth_precision is not \"dd\"");
    try {
      r.checked_tokens = std::stoi(e.field("checked_tokens", source));
    } catch (const std::exception&) {
      throw InputError(source + ": checked_tokens is not a number");
    }
    for (double d : e.array("certified_digits", static_cast<long long>(n), source)) {
      if (!(d >= 0 && d <= 50 && d == std::floor(d)))
        throw InputError(source + ": certified_digits holds " + std::to_string(d));
      r.certified_digits.push_back(static_cast<int>(d));
    }
  }
  return r;
}

CacheEntry encode_replay_reference(const ReplayReference& r, const std::string& key,
                                   const std::string& description) {
  CacheEntry e;
  e.kind = "replay";
  e.key = key;
  e.description = description;
  e.fields["stochastic_runs"] = std::to_string(r.stochastic_runs);
  std::vector<Budget> budgets;
  for (size_t i = 0; i < r.ops.size(); ++i) {
    e.arrays.emplace_back("op." + std::to_string(i) + ".truth", r.ops[i].truth);
    budgets.push_back(r.ops[i].budget);
  }
  encode_budgets(e, "budgets", budgets);
  return e;
}

ReplayReference decode_replay_reference(const CacheEntry& e, const Config& config,
                                        const std::vector<int>& tokens, Mask mask,
                                        const Trace<double>& truth) {
  const std::string source = "truth cache entry " + e.key;
  const size_t n = replay_ops(config.n_layer).size();
  std::vector<std::vector<double>> truths;
  for (size_t i = 0; i < n; ++i)
    truths.push_back(e.array("op." + std::to_string(i) + ".truth", -1, source));
  const std::string& runs_text = e.field("stochastic_runs", source);
  int runs = 0;
  try {
    runs = std::stoi(runs_text);
  } catch (const std::exception&) {
    throw InputError(source + ": stochastic_runs is not a number");
  }
  return assemble_replay_reference(config, tokens, mask, truth, std::move(truths),
                                   decode_budgets(e, "budgets", n), runs, source);
}

Reference cached_reference(const TruthCache& cache, const Weights<float>& weights,
                           const std::string& weights_sha256, const std::vector<int>& tokens,
                           Mask mask, uint64_t seed, int threads, bool progress,
                           const std::string& description, const TruthPrecision& precision,
                           const Profile& profile) {
  const Config& config = weights.config;
  const std::string precision_text =
      precision.precision == reference::Precision::dd
          ? "dd/" + std::to_string(precision.dd_checked_tokens)
          : std::string(reference::precision_name(precision.precision));
  TruthKey k =
      reference_key(weights_sha256, config, tokens, mask, seed, "reference", precision_text);
  if (!profile.is_f32()) k.extra = "profile " + profile_to_json(profile);
  const std::string key = k.key();
  return cache.fetch<Reference>(
      "reference", key, description,
      [&](const CacheEntry& e) {
        Reference r = decode_reference(e, config, int(tokens.size()));
        if (r.profile != profile.name)
          throw InputError("truth cache entry " + key + ": holds the truth of profile '" +
                           r.profile + "', not '" + profile.name + "'");
        if (!profile.is_f32()) set_flip_edges(r.budgets, profile, config.n_layer);
        return r;
      },
      [&] {
        return compute_reference(weights, tokens, mask, seed, threads, progress, precision,
                                 profile);
      },
      [&](const Reference& r) { return encode_reference(r, key, description); });
}

ReplayReference cached_replay_reference(const TruthCache& cache, const Weights<float>& weights,
                                        const std::string& weights_sha256,
                                        const std::vector<int>& tokens, Mask mask,
                                        const Trace<double>& truth, uint64_t seed, int threads,
                                        const std::string& description) {
  const Config& config = weights.config;
  const std::string key = reference_key(weights_sha256, config, tokens, mask, seed, "replay").key();
  return cache.fetch<ReplayReference>(
      "replay", key, description,
      [&](const CacheEntry& e) { return decode_replay_reference(e, config, tokens, mask, truth); },
      [&] { return compute_replay_reference(weights, tokens, mask, truth, seed, {}, threads); },
      [&](const ReplayReference& r) { return encode_replay_reference(r, key, description); });
}

}  // namespace gpt2::oracle
