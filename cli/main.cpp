// gpt2-oracle: the command-line entry point. Exit codes: 0 success, 1 a check
// failed, 2 bad input or usage (one line on stderr).
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string_view>

#include "cli/verbs.h"
#include "model/error.h"
#include "model/files.h"
#include "optimized/kernels.h"
#include "plugin/host.h"
#include "reference/team.h"
#ifdef GPT2_ORACLE_MPI
#include "reference/mpi_team.h"
#endif

namespace {

#ifdef GPT2_ORACLE_MPI
// The MPI job this process is a rank of (mpirun -np N gpt2-oracle ...), or
// nullptr in a plain run.
std::unique_ptr<gpt2::reference::MpiJob> g_mpi_job;
#endif

// One line on stderr and exit 2. In an MPI job every rank meets here after
// bad input (each read the same input): rank 0 says it once. A rank that
// fails alone says so with its rank and ends the job (the others may be
// waiting for it in an exchange).
int fail(const std::string& message, int code = 2) {
#ifdef GPT2_ORACLE_MPI
  if (g_mpi_job && g_mpi_job->size() > 1) {
    if (g_mpi_job->all_arrive_within(10)) {
      if (g_mpi_job->rank() == 0) std::fprintf(stderr, "gpt2-oracle: %s\n", message.c_str());
      return code;
    }
    std::fprintf(stderr, "gpt2-oracle: rank %d of the MPI job: %s\n", g_mpi_job->rank(),
                 message.c_str());
    g_mpi_job->abort(code);
  }
#endif
  std::fprintf(stderr, "gpt2-oracle: %s\n", message.c_str());
  return code;
}

}  // namespace

namespace gpt2::cli {

const reference::Team* mpi_team() {
#ifdef GPT2_ORACLE_MPI
  return g_mpi_job.get();
#else
  return nullptr;
#endif
}

bool writes_outputs() {
  const reference::Team* team = mpi_team();
  return !team || team->rank() == 0;
}

}  // namespace gpt2::cli

int main(int argc, char** argv) {
  using namespace gpt2::cli;
  // A child process that runs a plugin's kernel sets (plugin/host.h): it
  // serves gpt2-oracle on descriptor 3, then ends without atexit handlers.
  if (argc > 1 && std::string_view(argv[1]) == gpt2::plugin::kHostFlag)
    _exit(gpt2::plugin::plugin_host_main(argc, argv));
#ifdef GPT2_ORACLE_MPI
  // Started by mpirun: join the job. Rank 0 speaks and writes; the others
  // compute their slices and stay silent (their stdout is dropped).
  g_mpi_job = gpt2::reference::MpiJob::join_if_launched(&argc, &argv);
  if (g_mpi_job && g_mpi_job->rank() != 0 && !std::freopen("/dev/null", "w", stdout))
    return fail("rank " + std::to_string(g_mpi_job->rank()) + ": cannot silence stdout");
  struct EndJob {  // MPI_Finalize after every verb's return
    ~EndJob() { g_mpi_job.reset(); }
  } end_job;
#endif
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
      add_profiles_verb(app),
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
#ifdef GPT2_ORACLE_MPI
    // Only the verbs that split their truths across the ranks, and write
    // from rank 0 alone, run under mpirun; any other would run N times over
    // and N ranks would write its outputs.
    if (g_mpi_job && g_mpi_job->size() > 1) {
      const std::string name = verb.command->get_name();
      const bool splits =
          name == "run" || (name == "fixtures" && (verb.command->got_subcommand("generate") ||
                                                   verb.command->got_subcommand("generate-set")));
      if (!splits)
        return fail(name +
                    ": does not run under mpirun (run --impl reference, fixtures generate "
                    "and fixtures generate-set split their work across the ranks; run "
                    "the others as one process)");
    }
#endif
    try {
      return verb.run();
    } catch (const gpt2::InputError& e) {
      return fail(e.what());
    } catch (const gpt2::optimized::KernelSetFailure& e) {
      // A plugin that crashed or hung while loading: its failure, not bad input.
      return fail(e.what(), 1);
    } catch (const std::bad_alloc&) {
      return fail(verb.command->get_name() + ": out of memory");
    } catch (const std::exception& e) {
      return fail(verb.command->get_name() + ": internal error: " + e.what());
    }
  }
  return fail("no verb given (see --help)");
}
