// gpt2-oracle kernels: one "NAME  description" line per registered kernel set.
#include <cstdio>

#include "cli/verbs.h"
#include "optimized/kernels.h"

namespace gpt2::cli {

Verb add_kernels_verb(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "kernels", "List the optimized engine's kernel sets, one 'NAME  description' line each");
  return Verb{command, [] {
                for (const auto& set : optimized::kernels())
                  std::printf("%s  %s\n", set.name.c_str(), set.description.c_str());
                return 0;
              }};
}

}  // namespace gpt2::cli
