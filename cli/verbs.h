// The CLI's verbs. Each verb lives in its own cli/verb_<name>.cpp and adds
// one CLI11 subcommand; main.cpp lists them in one place.
//
// A verb's run() returns the exit code: 0 success, 1 a check failed. Bad
// input throws InputError (main prints one line on stderr and exits 2).
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "model/tokenizer.h"
#include "model/weights.h"
#include "reference/cost.h"

namespace gpt2::reference {
class Team;
}

namespace gpt2::cli {

// Under mpirun (a build with GPT2_ORACLE_MPI): the job's ranks, which split
// every 50- and 100-digit reference pass (reference/team.h); nullptr in a
// plain run. Every rank runs the verb alike; only rank 0 writes files and
// prints (writes_outputs), the others write nothing.
const reference::Team* mpi_team();
bool writes_outputs();

struct Verb {
  CLI::App* command = nullptr;
  std::function<int()> run;
};

// --model NAME | --checkpoint DIR, shared by every verb that needs a model.
struct ModelSource {
  std::string model;        // preset name; "tiny" when neither is given
  std::string checkpoint;   // Hugging Face GPT-2 directory
  std::string activations;  // "gpt2": a preset scaled to GPT-2's activations
  void add_options(CLI::App& command);
  // Loads (or generates) the weights; throws InputError.
  Weights<float> load() const;
  // "tiny", "tiny (GPT-2-scale activations)" or the checkpoint directory, for reports.
  std::string describe() const;
  // The options that name this model on a command line: "--model tiny".
  std::string flags() const;
  // The config alone (a preset's, or the checkpoint's config.json), before
  // any weights are read or generated.
  Config config() const;
  // Bytes at the peak of load(): the float weights, and for a checkpoint
  // its model.safetensors read whole beside them.
  uint64_t load_bytes(const Config& config) const;
  // The checkpoint's tokenizer (vocab.json + merges.txt, checked against
  // `config`), or nullopt for a preset or a checkpoint without those files.
  // When `needed_by` names an option (--text), its absence is an InputError
  // naming the missing files instead.
  std::optional<Gpt2Tokenizer> tokenizer(const Config& config,
                                         const char* needed_by = nullptr) const;
};

// --plugin LIB (repeatable) and --plugin-timeout S, on the verbs that run
// kernel sets (conformance, fixtures verify, replay, kernels): the sets a
// plugin library registers (gpt2_oracle/plugin.h), each run in a child
// process with a time limit on every call.
struct PluginInput {
  static constexpr double kDefaultTimeout = 60;  // seconds
  std::vector<std::string> libraries;
  double timeout_s = kDefaultTimeout;
  void add_options(CLI::App& command);
  // Loads every library and registers its sets; returns their names, in
  // order. InputError (exit 2) for a missing library, a missing entry point,
  // another ABI version or a name already taken; KernelSetFailure (exit 1)
  // when a library crashes or hangs while loading.
  std::vector<std::string> load() const;
  // " --plugin LIB --plugin-timeout S" (empty without a library), for the
  // reproducer commands of replay.
  std::string flags() const;
};

// What a verb runs: the token ids, and the text they were encoded from
// (for --text and --text-file; nullopt for --tokens).
struct Prompt {
  std::vector<int> ids;
  std::optional<std::string> text;
};

// --tokens IDS | --text TEXT | --text-file FILE (exactly one), the input of
// every verb that runs a token sequence. Text goes through the checkpoint's
// own tokenizer (GPT-2's byte-level BPE); presets have none.
struct TokenInput {
  std::string tokens;
  std::string text;
  std::string text_file;
  void add_options(CLI::App& command);
  // Whether the input is text (--text or --text-file) rather than ids.
  bool is_text() const;
  // "--text" or "--text-file", for messages; "--tokens" for ids.
  const char* option() const;
  // The text (--text, or the bytes of --text-file exactly, a final newline
  // included); InputError when it is not well-formed UTF-8, naming the byte
  // offset. Requires is_text().
  std::string read_text() const;
  // The ids: --tokens parsed, or the text encoded by the tokenizer of
  // `source`, which is read into `tokenizer` for text input, and also for
  // --tokens when `labels` asks for it (nullopt then for a preset or a
  // checkpoint without one). Checked against `config` (ids below vocab_size,
  // at most n_positions of them); InputError naming the option otherwise.
  // The cheap checks come first: the ids' syntax, the text's UTF-8.
  Prompt resolve(const Config& config, const ModelSource& source,
                 std::optional<Gpt2Tokenizer>& tokenizer, bool labels = false) const;

 private:
  CLI::Option* tokens_option_ = nullptr;
  CLI::Option* text_option_ = nullptr;
  CLI::Option* text_file_option_ = nullptr;
};

// Token ids as text for a person: their bytes (the tokens' bytes joined, kept
// whole across tokens) quoted on one line, ill-formed UTF-8 shown as U+FFFD
// (model/utf8.h); "(id N has no token)" when an id is a gap of vocab.json.
std::string tokens_for_display(const Gpt2Tokenizer& tokenizer, const std::vector<int>& ids);

// The most worker threads any verb accepts: results do not depend on the
// count, and beyond the machine's cores more threads only add hand-offs.
inline constexpr int kMaxThreads = 256;

// --threads N, 1 <= N <= kMaxThreads (default: all cores, at most
// kMaxThreads). Returns the option for chaining.
CLI::Option* add_threads_option(CLI::App& command, int& threads);

// --trace-level blocks|ops (model/trace.h): `level` holds the default on entry.
CLI::Option* add_trace_level_option(CLI::App& command, std::string& level);
int resolve_threads(int requested);  // 0 -> std::thread::hardware_concurrency

// --seed N: a non-negative decimal integer below 2^64 ("-1" is refused, not
// wrapped around).
CLI::Option* add_seed_option(CLI::App& command, uint64_t& seed, const std::string& description);

// An output file a verb writes once its work is done: the option that named
// it, the path (empty: not asked for) and how to make its content.
struct Output {
  std::string option;
  std::string path;
  std::function<std::string()> content;
};

// Checks every output path before the work (check_output_file): a verb calls
// this first, so that a bad path costs no computation.
void check_outputs(const std::vector<Output>& outputs);

// Writes the outputs after the verdict is printed. A failed write is one
// line on stderr and does not stop the others, nor hide the verdict: the
// exit code is `verdict` when every write succeeded or when the verdict is a
// failed check (1), and 2 when a write failed after everything passed.
int write_outputs(int verdict, const std::vector<Output>& outputs);

// --truth-cache DIR | --no-truth-cache: where truths are kept between runs
// (oracle/truth_cache.h); by default $XDG_CACHE_HOME/gpt2-oracle/truth or
// ~/.cache/gpt2-oracle/truth.
struct TruthCacheOption {
  std::string dir;
  bool disabled = false;
  void add_options(CLI::App& command);
  // The directory to use, "" for none. An explicit DIR is created if it is
  // missing (when `create`); one that is not a directory, or cannot be
  // created, is an InputError (before any work). The default directory is
  // best effort.
  std::string directory(bool create = true) const;
};

// --force: run even when the memory estimate exceeds the memory available.
CLI::Option* add_force_option(CLI::App& command, bool& force);

// What a long run will take, estimated before it starts (reference/cost.h).
struct Estimate {
  std::string what;     // "the reference at 50 digits over 8 tokens of gpt2-xl-shape"
  uint64_t bytes = 0;   // at the peak, weights included
  double seconds = -1;  // < 0: short (not estimated)
  std::string how;      // how the time was estimated: "measured now on 2 threads: ..."
};

// Refuses with an InputError (one line: needed against available, and where
// that figure comes from) when e.bytes exceed the memory available, unless
// `force` (then the refusal is a warning line and the run goes on). Called
// before the time is estimated: a refusal costs no calibration.
void check_memory(const std::string& verb, const Estimate& e, bool force);

// Prints `e` on stderr when the run is long (seconds >= kLongRunSeconds).
void print_estimate(const std::string& verb, const Estimate& e);

// "measured now on 2 threads: 22 ns per multiply-add, 1.2 us per tanh or exp" (wall time).
std::string format_speed(const reference::Speed& speed, int threads);

// Greedy decoding's choice: the highest logit, the lowest id on a tie.
int argmax(std::span<const float> logits);

// Seconds of the steady clock since `start` (bench, bench --batch).
double seconds_since(std::chrono::steady_clock::time_point start);

Verb add_conformance_verb(CLI::App& app);
Verb add_run_verb(CLI::App& app);
Verb add_replay_verb(CLI::App& app);
Verb add_inspect_verb(CLI::App& app);
Verb add_export_verb(CLI::App& app);
Verb add_fixtures_verb(CLI::App& app);
Verb add_mask_ablation_verb(CLI::App& app);
Verb add_decode_verb(CLI::App& app);
Verb add_bench_verb(CLI::App& app);
Verb add_kernels_verb(CLI::App& app);
Verb add_cache_verb(CLI::App& app);
Verb add_report_verb(CLI::App& app);
Verb add_profiles_verb(CLI::App& app);

}  // namespace gpt2::cli
