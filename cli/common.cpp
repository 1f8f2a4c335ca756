#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/error.h"
#include "model/files.h"
#include "model/memory.h"
#include "reference/cost.h"
#include "model/tokens.h"
#include "model/utf8.h"
#include "plugin/plugin.h"
#include "oracle/truth_cache.h"

namespace gpt2::cli {

void ModelSource::add_options(CLI::App& command) {
  auto* model_option = command.add_option("--model", model,
                                          "Built-in model (preset): tiny (default), small, "
                                          "gpt2-124m-shape, gpt2-medium-shape, "
                                          "gpt2-large-shape, gpt2-xl-shape");
  auto* checkpoint_option = command.add_option(
      "--checkpoint", checkpoint, "Hugging Face GPT-2 directory (config.json + model.safetensors)");
  model_option->excludes(checkpoint_option);
  command
      .add_option("--activations", activations,
                  "gpt2: scale the preset's query, key and MLP weights by powers of two so its "
                  "activations have GPT-2's scale (model/checkpoint.h)")
      ->check(CLI::IsMember({"gpt2"}))
      ->excludes(checkpoint_option);
}

namespace {
std::string preset_name(const ModelSource& s) { return s.model.empty() ? "tiny" : s.model; }
}  // namespace

Weights<float> ModelSource::load() const {
  if (!checkpoint.empty()) return load_checkpoint(checkpoint);
  Weights<float> weights = preset_weights(preset_name(*this));
  // Not `cond ? weights : ...`: a conditional's lvalue arm is copied, which
  // held the weights twice at the peak (measured: 124M, +470 MiB).
  if (activations.empty()) return weights;
  return with_gpt2_activations(std::move(weights));
}

std::string ModelSource::describe() const {
  if (!checkpoint.empty()) return checkpoint;
  return preset_name(*this) + (activations.empty() ? "" : " (GPT-2-scale activations)");
}

std::string ModelSource::flags() const {
  if (!checkpoint.empty()) return "--checkpoint " + checkpoint;
  return "--model " + preset_name(*this) + (activations.empty() ? "" : " --activations gpt2");
}

Config ModelSource::config() const {
  if (checkpoint.empty()) return find_preset(preset_name(*this)).config;
  const std::string file = checkpoint + "/config.json";
  return config_from_json(read_file(file, kMaxConfigBytes), file);
}

uint64_t ModelSource::load_bytes(const Config& config) const {
  const uint64_t weights = reference::weight_bytes(config);
  if (checkpoint.empty()) return weights;
  const std::string file = checkpoint + "/model.safetensors";
  return weights + (path_kind(file) == PathKind::regular_file ? regular_file_size(file) : 0);
}

std::optional<Gpt2Tokenizer> ModelSource::tokenizer(const Config& config,
                                                    const char* needed_by) const {
  if (checkpoint.empty()) {
    if (!needed_by) return std::nullopt;
    throw InputError(std::string(needed_by) + ": the preset '" + describe() +
                     "' has no tokenizer (presets have tiny vocabularies): give --tokens, or a "
                     "--checkpoint DIR that holds " +
                     kVocabFile + " and " + kMergesFile);
  }
  if (!needed_by && !find_tokenizer_files(checkpoint)) return std::nullopt;
  return Gpt2Tokenizer::read(checkpoint, config.vocab_size);  // names missing files
}

void TokenInput::add_options(CLI::App& command) {
  tokens_option_ = command.add_option("--tokens", tokens, "Token ids, e.g. 5,17,3");
  text_option_ = command.add_option(
      "--text", text,
      "Text, encoded by the checkpoint's tokenizer (vocab.json + merges.txt; presets have none)");
  text_file_option_ = command.add_option(
      "--text-file", text_file, "A UTF-8 file whose bytes, exactly, are the text (as --text)");
  tokens_option_->excludes(text_option_)->excludes(text_file_option_);
  text_option_->excludes(text_file_option_);
}

bool TokenInput::is_text() const { return text_option_->count() + text_file_option_->count() > 0; }

const char* TokenInput::option() const {
  if (text_option_->count()) return "--text";
  if (text_file_option_->count()) return "--text-file";
  return "--tokens";
}

std::string TokenInput::read_text() const {
  GPT2_CHECK(is_text(), "read_text without --text or --text-file");
  if (text_option_->count()) {
    require_utf8(text, "--text");
    return text;
  }
  std::string bytes = read_file(text_file);
  require_utf8(bytes, "--text-file " + text_file);
  return bytes;
}

Prompt TokenInput::resolve(const Config& config, const ModelSource& source,
                           std::optional<Gpt2Tokenizer>& tokenizer, bool labels) const {
  if (!is_text()) {
    if (!tokens_option_->count())
      throw InputError("one of --tokens, --text or --text-file is required");
    Prompt prompt{parse_tokens(tokens, config, "--tokens"), std::nullopt};
    if (labels) tokenizer = source.tokenizer(config);
    return prompt;
  }
  Prompt prompt{{}, read_text()};
  tokenizer = source.tokenizer(config, option());
  prompt.ids = tokenizer->encode(*prompt.text, option());
  validate_tokens(prompt.ids, config, option());
  return prompt;
}

std::string tokens_for_display(const Gpt2Tokenizer& tokenizer, const std::vector<int>& ids) {
  for (int id : ids)
    if (!tokenizer.has_token(id)) return "(id " + std::to_string(id) + " has no token)";
  return quoted_for_display(tokenizer.decode(ids));
}

void PluginInput::add_options(CLI::App& command) {
  command.add_option("--plugin", libraries,
                     "A shared library of kernel sets (gpt2_oracle/plugin.h), each run in a child "
                     "process; repeatable. Without --kernel, only its sets are run");
  command
      .add_option("--plugin-timeout", timeout_s,
                  "Seconds each call into a plugin may take before its process is killed and "
                  "the set fails as hung (default 60)")
      ->check(CLI::Range(0.001, 86400.0));
}

std::vector<std::string> PluginInput::load() const {
  plugin::PluginOptions options;
  options.call_timeout_s = timeout_s;
  std::vector<std::string> names;
  for (const auto& library : libraries)
    for (auto& name : plugin::register_plugin(library, options)) names.push_back(std::move(name));
  return names;
}

std::string PluginInput::flags() const {
  std::string out;
  for (const auto& library : libraries) out += " --plugin " + library;
  if (!libraries.empty() && timeout_s != kDefaultTimeout) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", timeout_s);
    out += std::string(" --plugin-timeout ") + text;
  }
  return out;
}

CLI::Option* add_threads_option(CLI::App& command, int& threads) {
  return command
      .add_option(
          "--threads", threads,
          "Worker threads, at most " + std::to_string(kMaxThreads) + " (default: all cores)")
      ->check(CLI::Range(1, kMaxThreads));
}

CLI::Option* add_trace_level_option(CLI::App& command, std::string& level) {
  return command
      .add_option("--trace-level", level,
                  "blocks (embed, block.{l}, ln_f, logits) or ops (also the six tensors inside "
                  "every block: ln_1, qkv, attn, mid, ln_2, gelu); default " +
                      level)
      ->check(CLI::IsMember({"blocks", "ops"}));
}

int resolve_threads(int requested) {
  if (requested > 0) return requested;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : static_cast<int>(std::min<unsigned>(cores, kMaxThreads));
}

CLI::Option* add_seed_option(CLI::App& command, uint64_t& seed, const std::string& description) {
  // CLI11 reads an unsigned option with strtoull, which wraps "-1" around to
  // 2^64 - 1: only digits make a seed.
  const CLI::Validator digits_only(
      [](std::string& text) {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return "expected a non-negative integer, found '" + text + "'";
        return std::string();
      },
      "UINT");
  return command.add_option("--seed", seed, description)->check(digits_only);
}

void TruthCacheOption::add_options(CLI::App& command) {
  auto* dir_option = command.add_option(
      "--truth-cache", dir,
      "Directory of the truth cache (default: $XDG_CACHE_HOME/gpt2-oracle/truth or "
      "~/.cache/gpt2-oracle/truth): truths computed once are read back, verified, next time");
  auto* off =
      command.add_flag("--no-truth-cache", disabled, "Neither read nor write the truth cache");
  dir_option->excludes(off);
}

std::string TruthCacheOption::directory(bool create) const {
  if (disabled) return "";
  if (dir.empty()) return oracle::default_truth_cache_dir();
  const PathKind kind = path_kind(dir);
  if (kind == PathKind::directory || (kind == PathKind::missing && !create)) return dir;
  if (kind != PathKind::missing) throw InputError("--truth-cache: " + dir + ": not a directory");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw InputError("--truth-cache: " + dir + ": cannot create it (" + ec.message() + ")");
  return dir;
}

CLI::Option* add_force_option(CLI::App& command, bool& force) {
  return command.add_flag("--force", force,
                          "Run even when the memory it needs (estimated before it starts) is more "
                          "than the memory available");
}

std::string format_speed(const reference::Speed& speed, int threads) {
  char text[160];
  std::snprintf(text, sizeof text,
                "measured now on %d thread%s: %.3g ns per multiply-add, %.3g us per tanh or exp",
                threads, threads == 1 ? "" : "s", speed.multiply_add_seconds * 1e9,
                speed.transcendental_seconds * 1e6);
  return text;
}

namespace {
// The process itself (code, libraries, allocator slack) beyond its data.
constexpr uint64_t kBaseBytes = 64ull << 20;
}  // namespace

void check_memory(const std::string& verb, const Estimate& e, bool force) {
  const uint64_t needed = e.bytes + kBaseBytes;
  const std::optional<AvailableMemory> available = available_memory();
  if (!available || needed <= available->bytes) return;
  const std::string line = e.what + " needs about " + bytes_text(needed) +
                           " of memory (estimated), " + bytes_text(available->bytes) +
                           " is available (" + available->source + ")";
  if (!force) throw InputError(verb + ": " + line + "; --force runs it anyway");
  std::fprintf(stderr, "gpt2-oracle %s: warning: %s; running anyway (--force)\n", verb.c_str(),
               line.c_str());
}

void print_estimate(const std::string& verb, const Estimate& e) {
  if (e.seconds < reference::kLongRunSeconds || !writes_outputs()) return;  // rank 0 speaks
  const std::optional<AvailableMemory> available = available_memory();
  std::fprintf(stderr, "gpt2-oracle %s: estimate for %s: %s (%s), %s of memory%s\n", verb.c_str(),
               e.what.c_str(), reference::duration_text(e.seconds).c_str(), e.how.c_str(),
               bytes_text(e.bytes + kBaseBytes).c_str(),
               available ? (" (" + bytes_text(available->bytes) + " available)").c_str() : "");
}

void check_outputs(const std::vector<Output>& outputs) {
  for (const Output& o : outputs)
    if (!o.path.empty()) check_output_file(o.option, o.path);
}

int write_outputs(int verdict, const std::vector<Output>& outputs) {
  bool failed = false;
  for (const Output& o : outputs) {
    if (o.path.empty()) continue;
    try {
      write_file_atomic(o.path, o.content());
    } catch (const InputError& e) {
      std::fprintf(stderr, "gpt2-oracle: %s: %s\n", o.option.c_str(), e.what());
      failed = true;
    }
  }
  if (!failed) return verdict;
  if (verdict == 1)
    std::fprintf(stderr,
                 "gpt2-oracle: the verdict above stands: a check failed (exit 1), and an output "
                 "was not written\n");
  return verdict == 1 ? 1 : 2;
}

int argmax(std::span<const float> logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace gpt2::cli
