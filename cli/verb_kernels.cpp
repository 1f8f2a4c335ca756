// gpt2-oracle kernels: one "NAME  description" line per registered kernel set.
#include <cstdio>
#include <memory>

#include "cli/verbs.h"
#include "optimized/kernels.h"

namespace gpt2::cli {

Verb add_kernels_verb(CLI::App& app) {
  CLI::App* command = app.add_subcommand(
      "kernels",
      "List the optimized engine's kernel sets (and a plugin's, with --plugin), one "
      "'NAME  description' line each");
  auto plugins = std::make_shared<PluginInput>();
  plugins->add_options(*command);
  return Verb{command, [plugins] {
                plugins->load();
                for (const auto& set : optimized::kernels())
                  std::printf("%s  %s\n", set.name.c_str(), set.description.c_str());
                return 0;
              }};
}

}  // namespace gpt2::cli
