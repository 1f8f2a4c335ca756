// How a forward pass is run: the attention mask and the order of positions.
#pragma once

#include <string>

namespace gpt2 {

// Mask::causal: query position i sees key positions 0..i (GPT-2).
// Mask::none: every query sees every key of the same pass. In a decode step
// (one query over the cache) the two are the same: there are no future keys.
enum class Mask { causal, none };

// Mode::full: all T positions in one pass (prefill / full recomputation).
// Mode::incremental: one position at a time, each against a key/value cache.
// Mode::chunked: prefill in chunks of N positions against the cache.
enum class Mode { full, incremental, chunked };

const char* mask_name(Mask mask);  // "causal", "none"
const char* mode_name(Mode mode);  // "full", "incremental", "chunked"

}  // namespace gpt2
