// gpt2-oracle profiles: one "NAME  description" line per built-in precision
// profile (model/profile.h); --show NAME|FILE prints a profile as JSON, the
// form a profile file takes.
#include <cstdio>
#include <memory>

#include "cli/verbs.h"
#include "model/profile.h"

namespace gpt2::cli {

Verb add_profiles_verb(CLI::App& app) {
  auto show = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand(
      "profiles",
      "List the built-in precision profiles (where an engine rounds to a short format), one "
      "'NAME  description' line each; --show prints one as JSON");
  command->add_option("--show", *show, "A profile's JSON (a built-in name or a profile file)");
  return Verb{command, [show] {
                if (!show->empty()) {
                  std::fputs(profile_to_json(load_profile(*show)).c_str(), stdout);
                  return 0;
                }
                for (const Profile& p : builtin_profiles())
                  std::printf("%s  %s\n", p.name.c_str(), p.description.c_str());
                return 0;
              }};
}

}  // namespace gpt2::cli
