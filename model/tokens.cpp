#include "model/tokens.h"

#include <cctype>
#include <limits>

#include "model/error.h"

namespace gpt2 {

std::vector<int> parse_tokens(const std::string& text, const Config& config,
                              const std::string& source) {
  std::vector<int> tokens;
  size_t i = 0;
  auto skip_spaces = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  };
  skip_spaces();
  if (i == text.size()) throw InputError(source + ": empty token list");
  while (true) {
    skip_spaces();
    const size_t start = i;
    int64_t value = 0;
    bool beyond_int = false;  // the digits go on past 2^31 - 1
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (!beyond_int) value = value * 10 + (text[i] - '0');
      beyond_int = beyond_int || value > std::numeric_limits<int>::max();
      ++i;
    }
    if (i == start) {
      const std::string found = i < text.size() ? std::string("'") + text[i] + "'" : "end of list";
      throw InputError(source + ": token " + std::to_string(tokens.size()) +
                       ": expected a non-negative integer, found " + found);
    }
    // Not echoed: the number as read would say nothing more than its size.
    if (beyond_int)
      throw InputError(source + ": token " + std::to_string(tokens.size()) +
                       " is out of range for vocab_size " + std::to_string(config.vocab_size) +
                       " (above 2^31 - 1)");
    if (value >= config.vocab_size)
      throw InputError(source + ": token " + std::to_string(tokens.size()) + " is " +
                       std::to_string(value) + ", out of range for vocab_size " +
                       std::to_string(config.vocab_size));
    tokens.push_back(static_cast<int>(value));
    skip_spaces();
    if (i == text.size()) break;
    if (text[i] != ',')
      throw InputError(source + ": expected ',' after token " + std::to_string(tokens.size() - 1) +
                       ", found '" + text[i] + "'");
    ++i;
  }
  validate_tokens(tokens, config, source);
  return tokens;
}

void validate_tokens(const std::vector<int>& tokens, const Config& config,
                     const std::string& source) {
  if (tokens.empty()) throw InputError(source + ": empty token list");
  if (tokens.size() > static_cast<size_t>(config.n_ctx))
    throw InputError(source + ": " + std::to_string(tokens.size()) +
                     " tokens exceed the context of " + std::to_string(config.n_ctx) +
                     " positions");
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config.vocab_size)
      throw InputError(source + ": token " + std::to_string(i) + " is " +
                       std::to_string(tokens[i]) + ", out of range for vocab_size " +
                       std::to_string(config.vocab_size));
  }
}

std::string format_tokens(const std::vector<int>& tokens) {
  std::string s;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(tokens[i]);
  }
  return s;
}

}  // namespace gpt2
