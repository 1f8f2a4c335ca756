// libFuzzer target: the readers of /proc/meminfo, /proc/self/cgroup, cgroup
// files and byte sizes (model/memory.h). Any input gives a value, nullopt or
// an InputError (byte sizes); nothing else.
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/error.h"
#include "model/memory.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)gpt2::parse_meminfo_available(text);
  (void)gpt2::parse_cgroup_number(text);
  if (const auto path = gpt2::parse_proc_cgroup(text))
    if (path->path.empty() || path->path[0] != '/') __builtin_trap();
  try {
    const uint64_t bytes = gpt2::parse_byte_size(text, "fuzz");
    (void)gpt2::bytes_text(bytes);
  } catch (const gpt2::InputError&) {
  }
  return 0;
}
