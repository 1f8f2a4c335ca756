// Token lists from the command line or a file: "5,17,3".
#pragma once

#include <string>
#include <vector>

#include "model/config.h"

namespace gpt2 {

// Parses comma-separated decimal token ids (spaces around commas allowed).
// Throws InputError naming `source` on an empty list, a non-number, a
// negative id, an id >= vocab_size, or more tokens than n_ctx positions.
std::vector<int> parse_tokens(const std::string& text, const Config& config,
                              const std::string& source = "--tokens");

// Checks an already-parsed list against the config (same errors as above).
void validate_tokens(const std::vector<int>& tokens, const Config& config,
                     const std::string& source = "--tokens");

std::string format_tokens(const std::vector<int>& tokens);  // "5,17,3"

}  // namespace gpt2
