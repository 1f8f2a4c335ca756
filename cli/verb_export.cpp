// gpt2-oracle export: write a model as a Hugging Face GPT-2 checkpoint,
// optionally with a tokenizer (vocab.json + merges.txt) copied in.
#include <cstdio>
#include <filesystem>
#include <filesystem>
#include <memory>

#include "cli/verbs.h"
#include "model/checkpoint.h"
#include "model/error.h"
#include "model/files.h"
#include "model/tokenizer_files.h"

namespace gpt2::cli {

namespace {

struct ExportOptions {
  ModelSource source;
  std::string out;
  std::string tokenizer;  // a directory with a tokenizer to copy in
};

int run_export(const ExportOptions& o) {
  // Before the weights are made: the 124M preset takes seconds.
  if (path_kind(o.out) != PathKind::missing ||
      std::filesystem::is_symlink(std::filesystem::symlink_status(o.out)))
    throw InputError(o.out + ": already exists; choose a new directory");
  check_output_directory("--out", o.out);
  const Weights<float> weights = o.source.load();
  std::vector<std::pair<std::string, std::string>> tokenizer_files;
  if (!o.tokenizer.empty()) {
    const std::optional<TokenizerFiles> files =
        find_tokenizer_files(o.tokenizer, /*openai_names_too=*/true);
    if (!files)
      throw InputError("--tokenizer " + o.tokenizer + ": no tokenizer there (expected " +
                       kVocabFile + " and " + kMergesFile + ", or OpenAI's " + kOpenAiVocabFile +
                       " and " + kOpenAiMergesFile + ")");
    // Checked against the model before anything is written: every id must
    // be below its vocab_size.
    (void)read_bpe_vocabulary(*files, weights.config.vocab_size);
    tokenizer_files = {{kVocabFile, read_file(files->vocab)},
                       {kMergesFile, read_file(files->merges)}};
  }
  save_checkpoint(weights, o.out, tokenizer_files);
  std::printf("wrote %s (config.json, model.safetensors%s) from %s\n", o.out.c_str(),
              tokenizer_files.empty() ? "" : ", vocab.json, merges.txt",
              o.source.describe().c_str());
  return 0;
}

}  // namespace

Verb add_export_verb(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* command = app.add_subcommand(
      "export",
      "Write a preset as a Hugging Face GPT-2 checkpoint directory (config.json + "
      "model.safetensors, F32), atomically");
  o->source.add_options(*command);
  command->add_option("--out", o->out, "Directory to create (must not exist)")->required();
  command->add_option("--tokenizer", o->tokenizer,
                      "Copy the tokenizer in this directory (vocab.json + merges.txt, or "
                      "encoder.json + vocab.bpe) into the checkpoint as vocab.json and "
                      "merges.txt; its ids must fit the model's vocab_size");
  return Verb{command, [o] { return run_export(*o); }};
}

}  // namespace gpt2::cli
