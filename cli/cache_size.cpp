#include "cli/cache_size.h"

#include <algorithm>
#include <fstream>
#include <string>

namespace gpt2::cli {

size_t parse_cache_size(std::string_view text) {
  constexpr size_t kMaxBytes = size_t(1) << 50;
  size_t i = 0, n = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    n = n * 10 + size_t(text[i] - '0');
    if (n > kMaxBytes) return 0;
    ++i;
  }
  if (i == 0) return 0;
  size_t unit = 1;
  if (i < text.size()) {
    switch (text[i]) {
      case 'K': unit = size_t(1) << 10; break;
      case 'M': unit = size_t(1) << 20; break;
      case 'G': unit = size_t(1) << 30; break;
      default: return 0;
    }
    ++i;
  }
  if (i != text.size() || n > kMaxBytes / unit) return 0;
  return n * unit;
}

size_t largest_cache_bytes() {
  size_t largest = 0;
  for (int index = 0; index < 16; ++index) {
    std::ifstream in("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
    std::string text;
    if (!(in >> text)) continue;
    largest = std::max(largest, parse_cache_size(text));
  }
  return largest;
}

}  // namespace gpt2::cli
