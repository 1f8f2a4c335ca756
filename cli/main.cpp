// gpt2-oracle: the command-line entry point. Exit codes: 0 success, 1 a check
// failed, 2 bad input or usage (one line on stderr).
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <new>
#include <string_view>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "optimized/kernels.h"
#include "plugin/host.h"

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "gpt2-oracle: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace gpt2::cli;
  // A child process that runs a plugin's kernel sets (plugin/host.h): it
  // serves gpt2-oracle on descriptor 3, then ends without atexit handlers.
  if (argc > 1 && std::string_view(argv[1]) == gpt2::plugin::kHostFlag)
    _exit(gpt2::plugin::plugin_host_main(argc, argv));
  // An interrupted run removes the temporaries of the outputs it was writing.
  gpt2::install_signal_cleanup();
  CLI::App app{
      "gpt2-oracle: a high-precision reference GPT-2 and a KV-cached float32 engine, compared "
      "tensor by tensor.\nExit codes: 0 success, 1 a check failed, 2 bad input or usage."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every verb");
  // The one list of verbs.
  const std::vector<Verb> verbs = {
      add_conformance_verb(app),   add_run_verb(app),    add_replay_verb(app),
      add_inspect_verb(app),       add_export_verb(app), add_fixtures_verb(app),
      add_mask_ablation_verb(app), add_decode_verb(app), add_bench_verb(app),
      add_kernels_verb(app),       add_cache_verb(app),  add_report_verb(app),
  };
  if (argc > 1 && argv[1][0] != '-') {
    std::string known;
    bool found = false;
    for (const Verb& verb : verbs) {
      known += (known.empty() ? "" : ", ") + verb.command->get_name();
      found = found || verb.command->get_name() == argv[1];
    }
    if (!found) return fail(std::string("unknown verb '") + argv[1] + "' (known: " + known + ")");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string verb;
    for (const auto* sub : app.get_subcommands()) verb = sub->get_name() + ": ";
    return fail(verb + e.what() + " (see --help)");
  }
  for (const Verb& verb : verbs) {
    if (!verb.command->parsed()) continue;
    try {
      return verb.run();
    } catch (const gpt2::InputError& e) {
      return fail(e.what());
    } catch (const gpt2::optimized::KernelSetFailure& e) {
      // A plugin that crashed or hung while loading: its failure, not bad input.
      std::fprintf(stderr, "gpt2-oracle: %s\n", e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      return fail(verb.command->get_name() + ": out of memory");
    } catch (const std::exception& e) {
      return fail(verb.command->get_name() + ": internal error: " + e.what());
    }
  }
  return fail("no verb given (see --help)");
}
