#include "model/memory.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include "model/error.h"

namespace gpt2 {

namespace {

// Digits only, no sign, no overflow.
std::optional<uint64_t> parse_digits(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// A small system file (at most 1 MiB), or nullopt.
std::optional<std::string> read_system_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > (1u << 20)) return std::nullopt;
  }
  return text;
}

// Limits at or above this are "no limit" (v1 writes 2^63 rounded to a page).
constexpr uint64_t kNoLimit = 1ull << 60;

}  // namespace

std::optional<uint64_t> parse_meminfo_available(const std::string& meminfo) {
  std::istringstream lines(meminfo);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MemAvailable:", 0) != 0) continue;
    std::string rest = trim(line.substr(13));
    if (rest.size() < 3 || rest.compare(rest.size() - 3, 3, " kB") != 0) return std::nullopt;
    const std::optional<uint64_t> kb = parse_digits(trim(rest.substr(0, rest.size() - 3)));
    if (!kb || *kb > UINT64_MAX / 1024) return std::nullopt;
    return *kb * 1024;
  }
  return std::nullopt;
}

std::optional<uint64_t> parse_cgroup_number(const std::string& text) {
  return parse_digits(trim(text));
}

std::optional<CgroupPath> parse_proc_cgroup(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::optional<CgroupPath> v2;
  while (std::getline(lines, line)) {
    const size_t first = line.find(':');
    const size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/' || path.find("/../") != std::string::npos ||
        path.find('\0') != std::string::npos)
      continue;
    if (controllers.empty()) {
      if (line.compare(0, first, "0") == 0) v2 = CgroupPath{path, true};
      continue;
    }
    std::istringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ','))
      if (name == "memory") return CgroupPath{path, false};
  }
  return v2;
}

std::optional<AvailableMemory> available_memory() {
  if (const char* forced = std::getenv("GPT2_ORACLE_MEMORY_AVAILABLE")) {
    return AvailableMemory{parse_byte_size(forced, "GPT2_ORACLE_MEMORY_AVAILABLE"),
                           "GPT2_ORACLE_MEMORY_AVAILABLE"};
  }
  std::optional<AvailableMemory> out;
  if (const auto meminfo = read_system_file("/proc/meminfo"))
    if (const auto bytes = parse_meminfo_available(*meminfo))
      out = AvailableMemory{*bytes, "MemAvailable in /proc/meminfo"};
  const auto self = read_system_file("/proc/self/cgroup");
  const std::optional<CgroupPath> cgroup = self ? parse_proc_cgroup(*self) : std::nullopt;
  if (!cgroup) return out;
  const std::string root = cgroup->v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
  const char* limit_file = cgroup->v2 ? "/memory.max" : "/memory.limit_in_bytes";
  const char* usage_file = cgroup->v2 ? "/memory.current" : "/memory.usage_in_bytes";
  // The process's cgroup and every ancestor: a limit anywhere above binds too.
  std::string path = cgroup->path == "/" ? "" : cgroup->path;
  for (;;) {
    const auto limit_text = read_system_file(root + path + limit_file);
    const auto usage_text = read_system_file(root + path + usage_file);
    // A missing or unreadable limit is no limit (kNoLimit, and GCC 12 sees no
    // maybe-uninitialized optional in the comparison below).
    const uint64_t limit =
        limit_text ? parse_cgroup_number(*limit_text).value_or(kNoLimit) : kNoLimit;
    const auto usage = usage_text ? parse_cgroup_number(*usage_text) : std::nullopt;
    if (usage && limit < kNoLimit) {
      const uint64_t left = limit > *usage ? limit - *usage : 0;
      if (!out || left < out->bytes)
        out = AvailableMemory{
            left, "the memory cgroup " + (path.empty() ? "/" : path) + " (limit minus usage)"};
    }
    if (path.empty()) break;
    path = path.substr(0, path.rfind('/'));
  }
  return out;
}

std::string bytes_text(uint64_t bytes) {
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text,
                value < 10    ? "%.2f %s"
                : value < 100 ? "%.1f %s"
                              : "%.0f %s",
                value, units[unit]);
  return text;
}

uint64_t parse_byte_size(const std::string& text, const std::string& option) {
  const auto bad = [&] {
    return InputError(option + ": expected a size in bytes (e.g. 1000, 500M, 2G), found '" + text +
                      "'");
  };
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  const std::optional<uint64_t> number = parse_digits(text.substr(0, digits));
  if (!number) throw bad();
  const std::string suffix = text.substr(digits);
  const std::pair<const char*, int> units[] = {{"", 0},    {"K", 1},   {"M", 2},
                                               {"G", 3},   {"T", 4},   {"KiB", 1},
                                               {"MiB", 2}, {"GiB", 3}, {"TiB", 4}};
  for (const auto& [name, power] : units) {
    if (suffix != name) continue;
    uint64_t value = *number;
    for (int i = 0; i < power; ++i) {
      if (value > UINT64_MAX / 1024) throw bad();
      value *= 1024;
    }
    return value;
  }
  throw bad();
}

uint64_t largest_cache_bytes(const std::string& dir) {
  uint64_t largest = 0;
  for (int index = 0; index < 16; ++index) {
    std::ifstream in(dir + "/index" + std::to_string(index) + "/size");
    std::string text;
    if (!(in >> text)) continue;
    try {
      largest = std::max(largest, parse_byte_size(text, "cache size"));
    } catch (const InputError&) {  // not a size: this cache is unknown
    }
  }
  return largest;
}

}  // namespace gpt2
