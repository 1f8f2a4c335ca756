#include "model/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string>

#include "model/error.h"

namespace gpt2 {

namespace {

// GPT-2's pattern with \s written as \p{White_Space} and \S as
// \P{White_Space} (see the header for why).
constexpr const char* kPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+)"
    R"(|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+)";

}  // namespace

struct Gpt2Pretokenizer::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  bool jit = false;

  ~Compiled() {
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

Gpt2Pretokenizer::Gpt2Pretokenizer() : compiled_(std::make_unique<Compiled>()) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF, &error, &error_offset, nullptr);
  if (!compiled_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    GPT2_CHECK(false, std::string("PCRE2 refuses GPT-2's pattern at offset ") +
                          std::to_string(error_offset) + ": " +
                          reinterpret_cast<const char*>(message));
  }
  // The JIT makes matching several times faster; without it (a platform
  // PCRE2 has no JIT for) the interpreter gives the same matches.
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
  compiled_->match = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  GPT2_CHECK(compiled_->match != nullptr, "pcre2_match_data_create_from_pattern");
}

Gpt2Pretokenizer::~Gpt2Pretokenizer() = default;
Gpt2Pretokenizer::Gpt2Pretokenizer(Gpt2Pretokenizer&&) noexcept = default;
Gpt2Pretokenizer& Gpt2Pretokenizer::operator=(Gpt2Pretokenizer&&) noexcept = default;

const char* Gpt2Pretokenizer::pattern() { return kPattern; }

void Gpt2Pretokenizer::split(std::string_view text,
                             const std::function<void(std::string_view)>& piece) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(compiled_->match);
  size_t offset = 0;
  while (offset < text.size()) {
    // PCRE2_NO_UTF_CHECK: the caller has checked the whole text once;
    // PCRE2 would otherwise check it again at every match.
    const int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), offset,
                                                    PCRE2_NO_UTF_CHECK, compiled_->match, nullptr)
                                  : pcre2_match(compiled_->code, subject, text.size(), offset,
                                                PCRE2_NO_UTF_CHECK, compiled_->match, nullptr);
    // Every character is whitespace, a letter, a number or other, so a
    // match always starts where the previous one ended and is never empty.
    GPT2_CHECK(rc > 0, "GPT-2's pattern matches at every offset (PCRE2 returned " +
                           std::to_string(rc) + " at offset " + std::to_string(offset) + ")");
    GPT2_CHECK(ovector[0] == offset && ovector[1] > offset,
               "GPT-2's pattern leaves no character unmatched");
    piece(text.substr(offset, ovector[1] - offset));
    offset = ovector[1];
  }
}

}  // namespace gpt2
