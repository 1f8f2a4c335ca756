// Claim 11: this tokenizer is GPT-2's.
//   * On generated text (text_generators.h), its ids are those of GPT-2's
//     JavaScript encoder (npm gpt-3-encoder's Encoder.js, a port of
//     openai/gpt-2's encoder.py), run in one node process for the whole test
//     (javascript_encoder.h). Each case is a batch of texts; a failing batch
//     shrinks to one short text.
//   * decode(encode(s)) == s, byte for byte, for any well-formed UTF-8 s,
//     and every id is a token of GPT-2's vocabulary.
//
// Where Encoder.js is not GPT-2 (its JavaScript \s holds U+FEFF and not
// U+0085; newer Unicode tables than PCRE2's), the text is kept out of the
// first property and model/tokenizer_test.cpp pins encoder.py's own ids.
//
// GPT-2's files and Encoder.js come from ci/setup; without them (or without
// node) these properties fail, saying what is missing.
#include "model/tokenizer.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <memory>

#include "model/gpt2_tokenizer_test_support.h"
#include "model/utf8.h"
#include "property_tests/checks.h"
#include "property_tests/javascript_encoder.h"
#include "property_tests/text_generators.h"

namespace gpt2::properties {
namespace {

using test_tokenizer::kGpt2VocabSize;

// What is missing for these properties; empty when nothing is.
std::string missing_prerequisite() {
  if (std::string problem = test_tokenizer::reference_files_problem(); !problem.empty())
    return problem;
  if (test_tokenizer::node_executable().empty())
    return "node was not found when this build was configured: run ci/setup (it installs "
           "nodejs), then configure again";
  return "";
}

// Loaded on first use, kept for the whole run (a property runs many cases).
Gpt2Tokenizer& gpt2_tokenizer() {
  static std::unique_ptr<Gpt2Tokenizer> tokenizer =
      std::make_unique<Gpt2Tokenizer>(test_tokenizer::read_gpt2_tokenizer());
  return *tokenizer;
}

JavaScriptEncoder& javascript_encoder() {
  static std::unique_ptr<JavaScriptEncoder> encoder = std::make_unique<JavaScriptEncoder>(
      test_tokenizer::node_executable(), GPT2_JAVASCRIPT_ENCODER_DRIVER,
      test_tokenizer::reference_dir());
  return *encoder;
}

std::string ids_text(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : " ") + std::to_string(id);
  return s;
}

// A batch of texts per case, about 30 on average over a run (the batch grows
// with RapidCheck's size): thousands of texts at the default 100 cases.
rc::Gen<std::vector<std::string>> gen_texts(TextRange range) {
  return rc::gen::scale(
      1.2, rc::gen::nonEmpty(rc::gen::container<std::vector<std::string>>(gen_gpt2_text(range))));
}

// Empty when decode(encode(text)) is `text` with ids of the vocabulary.
std::string round_trip_finding(const std::string& text, const std::vector<int>& ids) {
  for (int id : ids)
    if (id < 0 || id >= kGpt2VocabSize)
      return "text " + quoted_for_display(text) + " gives the id " + std::to_string(id);
  const std::string decoded = gpt2_tokenizer().decode(ids);
  if (decoded == text) return "";
  return "text " + quoted_for_display(text) + " encodes to " + ids_text(ids) +
         ", which decodes to " + quoted_for_display(decoded);
}

RC_GTEST_PROP(Tokenizer, GivesTheIdsOfGpt2sJavaScriptEncoder, ()) {
  if (const std::string problem = missing_prerequisite(); !problem.empty()) RC_FAIL(problem);
  for (const std::string& text : *gen_texts(TextRange::agreed_with_javascript)) {
    const std::vector<int> ours = gpt2_tokenizer().encode(text);
    const std::vector<int> theirs = javascript_encoder().encode(text);
    if (ours != theirs)
      RC_FAIL("text " + quoted_for_display(text) + ": this tokenizer gives " + ids_text(ours) +
              ", Encoder.js gives " + ids_text(theirs) + "\n" + rerun_hint());
    if (const std::string finding = round_trip_finding(text, ours); !finding.empty())
      RC_FAIL(finding + "\n" + rerun_hint());
  }
}

RC_GTEST_PROP(Tokenizer, DecodeInvertsEncodeByteForByte, ()) {
  if (const std::string problem = test_tokenizer::reference_files_problem(); !problem.empty())
    RC_FAIL(problem);
  for (const std::string& text : *gen_texts(TextRange::any_utf8)) {
    const std::string finding = round_trip_finding(text, gpt2_tokenizer().encode(text));
    if (!finding.empty()) RC_FAIL(finding + "\n" + rerun_hint());
  }
}

}  // namespace
}  // namespace gpt2::properties
