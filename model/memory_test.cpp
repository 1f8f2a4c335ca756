// The memory facts behind refusing a run that cannot fit.
#include "model/memory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "model/error.h"

namespace gpt2 {
namespace {

TEST(Memory, MemAvailableIsReadInBytes) {
  const std::string meminfo =
      "MemTotal:       24589036 kB\nMemFree:        21917412 kB\n"
      "MemAvailable:   22278344 kB\nBuffers:          123456 kB\n";
  EXPECT_EQ(parse_meminfo_available(meminfo), 22278344ull * 1024);
  EXPECT_EQ(parse_meminfo_available("MemTotal: 1 kB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo_available("MemAvailable: 12 MB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo_available("MemAvailable: -5 kB\n"), std::nullopt);
  EXPECT_EQ(parse_meminfo_available("MemAvailable: 99999999999999999999 kB\n"), std::nullopt);
}

TEST(Memory, CgroupFilesAndPathsOfBothVersions) {
  EXPECT_EQ(parse_cgroup_number("4813787136\n"), 4813787136ull);
  EXPECT_EQ(parse_cgroup_number("max\n"), std::nullopt);
  EXPECT_EQ(parse_cgroup_number(""), std::nullopt);
  const auto v1 = parse_proc_cgroup("9:name=systemd:/\n4:memory:/process_api/d1b8\n0::/\n");
  ASSERT_TRUE(v1);
  EXPECT_EQ(v1->path, "/process_api/d1b8");
  EXPECT_FALSE(v1->v2);
  const auto shared = parse_proc_cgroup("3:cpu,memory:/a\n");
  ASSERT_TRUE(shared);
  EXPECT_EQ(shared->path, "/a");
  const auto v2 = parse_proc_cgroup("0::/user.slice/session-1.scope\n");
  ASSERT_TRUE(v2);
  EXPECT_TRUE(v2->v2);
  EXPECT_EQ(v2->path, "/user.slice/session-1.scope");
  EXPECT_EQ(parse_proc_cgroup("garbage"), std::nullopt);
  EXPECT_EQ(parse_proc_cgroup("0::relative\n"), std::nullopt);
}

TEST(Memory, ByteSizesReadAndPrintInBinaryUnits) {
  EXPECT_EQ(parse_byte_size("1000", "--max-size"), 1000u);
  EXPECT_EQ(parse_byte_size("500K", "--max-size"), 500u * 1024);
  EXPECT_EQ(parse_byte_size("2G", "--max-size"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("3MiB", "--max-size"), 3ull << 20);
  EXPECT_EQ(parse_byte_size("0", "--max-size"), 0u);
  for (const char* bad : {"", "G", "-1", "1.5G", "2g", "1 G", "99999999999999999999", "20000000T"})
    EXPECT_THROW(parse_byte_size(bad, "--max-size"), InputError) << bad;
  EXPECT_EQ(bytes_text(100), "100 bytes");
  EXPECT_EQ(bytes_text(1536), "1.50 KiB");
  EXPECT_EQ(bytes_text(1610612736), "1.50 GiB");
  EXPECT_EQ(bytes_text(12ull << 30), "12.0 GiB");
}

TEST(Memory, TheEnvironmentVariableReplacesTheSystemFigures) {
  ::setenv("GPT2_ORACLE_MEMORY_AVAILABLE", "3G", 1);
  const auto forced = available_memory();
  ::unsetenv("GPT2_ORACLE_MEMORY_AVAILABLE");
  ASSERT_TRUE(forced);
  EXPECT_EQ(forced->bytes, 3ull << 30);
  EXPECT_EQ(forced->source, "GPT2_ORACLE_MEMORY_AVAILABLE");
  const auto system = available_memory();  // on Linux, MemAvailable at least
  ASSERT_TRUE(system);
  EXPECT_GT(system->bytes, 0u);
}

// A sysfs-like cache directory: the largest readable size wins; a size that
// is not one, a missing file and an empty one are skipped.
TEST(Memory, LargestCacheOfTheSysfsSizes) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("gpt2_memory_test_cache_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto put = [&](int index, const std::string& size) {
    fs::create_directories(dir / ("index" + std::to_string(index)));
    std::ofstream(dir / ("index" + std::to_string(index)) / "size") << size;
  };
  put(0, "48K\n");
  put(1, "32K\n");
  put(2, "2048K\n");
  put(3, "491520K\n");
  EXPECT_EQ(largest_cache_bytes(dir.string()), 491520ull * 1024);
  put(3, "lots\n");  // unreadable: the next largest
  put(5, "");        // index 4 missing, 5 empty
  EXPECT_EQ(largest_cache_bytes(dir.string()), 2048ull * 1024);
  fs::remove_all(dir);
  EXPECT_EQ(largest_cache_bytes(dir.string()), 0u);
}

}  // namespace
}  // namespace gpt2
