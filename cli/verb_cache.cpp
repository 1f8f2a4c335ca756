// gpt2-oracle cache list|verify|prune: the truth cache (oracle/truth_cache.h).
//   cache list                   every entry, least recently used first
//   cache verify                 every entry read whole and checked; exit 1 if any is damaged
//   cache prune --max-size N     damaged heads and the least recently used removed to N bytes
#include <cstdio>
#include <ctime>
#include <memory>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "model/memory.h"
#include "oracle/truth_cache.h"

namespace gpt2::cli {

namespace {

struct CacheArgs {
  TruthCacheOption cache;
  std::string max_size;
};

std::string date_text(int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", std::localtime(&t));
  return text;
}

std::string entry_line(const oracle::ListedEntry& e) {
  char line[2048];
  std::snprintf(line, sizeof line, "  %-12.12s  %-13s  %10s  %s  %s\n",
                e.key.empty() ? "?" : e.key.c_str(), e.kind.empty() ? "?" : e.kind.c_str(),
                bytes_text(e.bytes).c_str(), date_text(e.last_used).c_str(),
                e.problem.empty() ? e.description.c_str() : e.problem.c_str());
  return line;
}

oracle::TruthCache open_cache(const CacheArgs& a) {
  if (a.cache.disabled) throw InputError("cache: --no-truth-cache leaves no cache to look at");
  const std::string dir = a.cache.directory(false);
  if (dir.empty())
    throw InputError(
        "cache: no cache directory (neither XDG_CACHE_HOME nor HOME is set): "
        "give --truth-cache DIR");
  return oracle::TruthCache(dir);
}

int list(const CacheArgs& a) {
  const oracle::TruthCache cache = open_cache(a);
  const std::vector<oracle::ListedEntry> entries = cache.list();
  uint64_t total = 0;
  for (const auto& e : entries) total += e.bytes;
  std::printf("truth cache %s: %zu entr%s, %s\n", cache.dir().c_str(), entries.size(),
              entries.size() == 1 ? "y" : "ies", bytes_text(total).c_str());
  if (!entries.empty())
    std::printf("  %-12s  %-13s  %10s  %-16s  %s\n", "key", "kind", "size", "last used", "what");
  for (const auto& e : entries) std::fputs(entry_line(e).c_str(), stdout);
  return 0;
}

int verify(const CacheArgs& a) {
  const oracle::TruthCache cache = open_cache(a);
  const std::vector<oracle::ListedEntry> entries = cache.list();
  int damaged = 0;
  for (const auto& e : entries) {
    const std::string problem = oracle::TruthCache::verify_file(e.path);
    if (problem.empty()) continue;
    ++damaged;
    std::printf("DAMAGED %s\n", problem.c_str());
  }
  std::printf("truth cache %s: %zu entr%s, %zu sound, %d damaged%s\n", cache.dir().c_str(),
              entries.size(), entries.size() == 1 ? "y" : "ies", entries.size() - damaged, damaged,
              damaged ? " (a damaged entry is recomputed when next needed; `cache prune` removes "
                        "those that are not entries at all)"
                      : "");
  return damaged ? 1 : 0;
}

int prune(const CacheArgs& a) {
  const uint64_t max_bytes = parse_byte_size(a.max_size, "--max-size");
  const oracle::TruthCache cache = open_cache(a);
  const std::vector<oracle::ListedEntry> removed = cache.prune(max_bytes);
  uint64_t freed = 0;
  for (const auto& e : removed) freed += e.bytes;
  for (const auto& e : removed) std::printf("removed%s", entry_line(e).c_str());
  const std::vector<oracle::ListedEntry> kept = cache.list();
  uint64_t total = 0;
  for (const auto& e : kept) total += e.bytes;
  std::printf("truth cache %s: removed %zu entr%s (%s), kept %zu (%s, at most %s)\n",
              cache.dir().c_str(), removed.size(), removed.size() == 1 ? "y" : "ies",
              bytes_text(freed).c_str(), kept.size(), bytes_text(total).c_str(),
              bytes_text(max_bytes).c_str());
  return 0;
}

}  // namespace

Verb add_cache_verb(CLI::App& app) {
  auto a = std::make_shared<CacheArgs>();
  CLI::App* command = app.add_subcommand(
      "cache", "The truth cache: list its entries, verify them, or prune it to a size");
  command->require_subcommand(1);
  CLI::App* list_command =
      command->add_subcommand("list", "Every entry (key, kind, size, last use, what it holds)");
  CLI::App* verify_command = command->add_subcommand(
      "verify", "Read every entry whole and check its digest; exit 1 if any is damaged");
  CLI::App* prune_command = command->add_subcommand(
      "prune", "Remove what is not an entry, then the least recently used, down to --max-size");
  prune_command->add_option("--max-size", a->max_size, "Bytes to keep at most: 1000, 500M, 2G")
      ->required();
  for (CLI::App* sub : {list_command, verify_command, prune_command}) a->cache.add_options(*sub);
  return Verb{command, [a, list_command, verify_command, prune_command] {
                if (list_command->parsed()) return list(*a);
                if (verify_command->parsed()) return verify(*a);
                if (prune_command->parsed()) return prune(*a);
                throw InputError("cache: expected list, verify or prune");
              }};
}

}  // namespace gpt2::cli
