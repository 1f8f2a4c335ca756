// The CPU's largest cache, for bench's caveat on its bandwidth loops: STREAM
// asks for arrays at least 4 times the caches, and a machine whose last-level
// cache holds a good part of the triad's 3 x 64 MiB reads its triad (and its
// read-only loop, 2 x 64 MiB) high.
//
// Linux: /sys/devices/system/cpu/cpu0/cache/index*/size ("32K", "491520K",
// "2M"); the largest is taken. Elsewhere, or where the files are missing or
// malformed, 0 (unknown).
#pragma once

#include <cstddef>
#include <string_view>

namespace gpt2::cli {

// "491520K" -> 503316480; "2M", "1G", "4096" (bytes). 0 when malformed: empty,
// no digits, another suffix or trailing text, or beyond 2^50 bytes.
size_t parse_cache_size(std::string_view text);

// The largest cache of CPU 0 in bytes (0: unknown).
size_t largest_cache_bytes();

}  // namespace gpt2::cli
