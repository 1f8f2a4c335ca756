// Reading the sizes of the CPU's caches as Linux's sysfs writes them.
#include "cli/cache_size.h"

#include <gtest/gtest.h>

namespace gpt2::cli {
namespace {

TEST(CacheSize, ReadsSysfsSizes) {
  EXPECT_EQ(parse_cache_size("491520K"), size_t(491520) * 1024);
  EXPECT_EQ(parse_cache_size("32K"), size_t(32) * 1024);
  EXPECT_EQ(parse_cache_size("2M"), size_t(2) << 20);
  EXPECT_EQ(parse_cache_size("1G"), size_t(1) << 30);
  EXPECT_EQ(parse_cache_size("4096"), size_t(4096));
}

TEST(CacheSize, MalformedSizesAreUnknown) {
  for (const char* bad : {"", "K", "-32K", "32k", "32KB", "32 K", "3.5M", "99999999999999999999",
                          "2000000000G"})
    EXPECT_EQ(parse_cache_size(bad), 0u) << '"' << bad << '"';
}

}  // namespace
}  // namespace gpt2::cli
