// How much memory this process may still use, and byte sizes as people
// write and read them: the facts behind refusing a run that cannot fit
// (the CLI's estimates; reference/cost.h, oracle/plan.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gpt2 {

struct AvailableMemory {
  uint64_t bytes = 0;
  // Where the figure comes from, for the refusal line: "MemAvailable in
  // /proc/meminfo", "the cgroup limit (...)", or the environment variable.
  std::string source;
};

// The smallest of: MemAvailable (/proc/meminfo), and, for every memory
// cgroup this process is in (v2 memory.max, or v1 memory.limit_in_bytes,
// the process's own and its ancestors'), its limit minus its usage. The
// environment variable GPT2_ORACLE_MEMORY_AVAILABLE (bytes, or with a
// K/M/G/T suffix) replaces all of it: to leave room for other jobs, or in
// tests. nullopt when nothing can be read (not Linux).
std::optional<AvailableMemory> available_memory();

// The parsers behind it (fuzzed: fuzz/memory_info_fuzz.cpp), each nullopt
// for text that is not what it should be.
// "MemAvailable:  22278344 kB" in /proc/meminfo's text -> bytes.
std::optional<uint64_t> parse_meminfo_available(const std::string& meminfo);
// A cgroup file holding one number ("4813787136\n"); "max" (v2's no limit)
// gives nullopt too.
std::optional<uint64_t> parse_cgroup_number(const std::string& text);
// The memory cgroup's path from /proc/self/cgroup: v1's "N:memory:/path"
// (or a controller list holding "memory") or else v2's "0::/path".
struct CgroupPath {
  std::string path;
  bool v2 = false;
};
std::optional<CgroupPath> parse_proc_cgroup(const std::string& text);

// "1.4 GiB", "512 MiB", "3.0 KiB", "100 bytes": binary units, 2 significant
// decimals at most.
std::string bytes_text(uint64_t bytes);

// "1000", "500K", "300M", "2G", "1T" (binary: K = 1024; also "KiB", "MiB",
// ...): bytes. InputError naming `option` for anything else or an overflow.
uint64_t parse_byte_size(const std::string& text, const std::string& option);

// The largest cache of CPU 0 in bytes, from the `index*/size` files ("48K",
// "2M", "491520K": parse_byte_size's sizes) under Linux's
// /sys/devices/system/cpu/cpu0/cache (or `dir`, in tests); 0 when none can be
// read. bench's caveat on its bandwidth loops: STREAM asks for arrays at least
// 4 times the caches.
uint64_t largest_cache_bytes(const std::string& dir = "/sys/devices/system/cpu/cpu0/cache");

}  // namespace gpt2
