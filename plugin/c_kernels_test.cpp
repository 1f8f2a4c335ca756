// A C kernel set in this process (no child): the example C plugin conforms,
// and an unusable table is refused with a line that names what is wrong.
#include "plugin/c_kernels.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "oracle/conformance.h"
#include "oracle/report.h"

namespace gpt2::plugin {
namespace {

const gpt2_oracle_plugin* example_table() {
  const std::string path = std::string(GPT2_TEST_PLUGIN_DIR) + "/test_plugin_naive.so";
  void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);  // kept for the process
  if (!library) return nullptr;
  auto entry =
      reinterpret_cast<gpt2_oracle_plugin_entry_fn>(dlsym(library, GPT2_ORACLE_PLUGIN_ENTRY));
  return entry ? entry() : nullptr;
}

TEST(CKernels, TheExampleCSetConformsOnTiny) {
  const gpt2_oracle_plugin* table = example_table();
  ASSERT_NE(table, nullptr) << dlerror();
  ASSERT_EQ(check_plugin_table(table), "");
  const optimized::KernelSet set = c_kernel_set(table->sets[0]);
  EXPECT_EQ(set.name, "naive-c");
  const Weights<float> w = preset_weights("tiny");
  oracle::ConformanceOptions o;
  o.model = "tiny";
  const auto report =
      oracle::run_conformance(w, oracle::default_scenarios(w.config, 1, true), o, {&set});
  EXPECT_TRUE(report.passed()) << oracle::format_table(report);
  EXPECT_GT(report.results.size(), 10u);
}

// A table like the example's, to break one field at a time.
struct TableCase {
  gpt2_oracle_kernel_set set;
  gpt2_oracle_plugin plugin;
};

TEST(CKernels, AnUnusableTableIsRefusedNamingTheField) {
  const gpt2_oracle_plugin* good = example_table();
  ASSERT_NE(good, nullptr);
  auto check = [&](auto&& edit) {
    TableCase c{good->sets[0], *good};
    c.plugin.sets = &c.set;
    edit(c);
    return check_plugin_table(&c.plugin);
  };
  EXPECT_EQ(check([](TableCase&) {}), "");
  EXPECT_EQ(check_plugin_table(nullptr), "gpt2_oracle_plugin_entry returned NULL");
  EXPECT_EQ(check([](TableCase& c) { c.plugin.abi_version = 2; }),
            "the table declares ABI version 2; this gpt2-oracle reads version 1");
  EXPECT_EQ(check([](TableCase& c) { c.plugin.n_sets = 0; }),
            "the table lists 0 kernel sets (1 to 64)");
  EXPECT_EQ(check([](TableCase& c) { c.set.attention = nullptr; }),
            "set 0 'naive-c': attention is NULL (required)");
  EXPECT_EQ(check([](TableCase& c) { c.set.name = "has space"; }),
            "set 0: a name with a character outside [a-zA-Z0-9_.+-]");
  EXPECT_EQ(check([](TableCase& c) { c.set.description = "two\nlines"; }),
            "set 0 'naive-c': a description with a control character (one line of text)");
}

}  // namespace
}  // namespace gpt2::plugin
