// Errors shared by every layer of gpt2-oracle.
//
// Bad external input (files, JSON, CLI arguments, token lists) throws
// InputError, whose message names the file or field, what was expected and
// what was found; the CLI's main turns it into one line on stderr and exit 2.
// Broken internal invariants use GPT2_CHECK, which is always on (also in
// Release builds) and reports file:line.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace gpt2 {

// Bad input from outside the program: exit code 2 at the CLI.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A broken internal invariant: a bug in gpt2-oracle, not in the input.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {
[[noreturn]] inline void check_failed(const char* file, int line, const char* condition,
                                      const std::string& message) {
  std::ostringstream out;
  out << file << ":" << line << ": internal check failed: " << condition;
  if (!message.empty()) out << " (" << message << ")";
  throw InternalError(out.str());
}
}  // namespace detail

}  // namespace gpt2

// Always-on invariant check: GPT2_CHECK(n > 0, "n_layer must be positive").
#define GPT2_CHECK(condition, message)                                                         \
  do {                                                                                         \
    if (!(condition)) ::gpt2::detail::check_failed(__FILE__, __LINE__, #condition, (message)); \
  } while (false)
