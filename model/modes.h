// How a forward pass is run: the attention mask and the order of positions.
#pragma once

#include <string>

namespace gpt2 {

// Mask::causal: query position i sees key positions 0..i (GPT-2).
// Mask::none: every query sees every key of the same pass. In a decode step
// (one query over the cache) the two are the same: there are no future keys.
enum class Mask { causal, none };

// The mask's rule, the one place it is written: the keys a query sees are
// always a prefix 0 .. n-1 of the keys 0 .. key_end-1, and this returns n for
// the query at absolute position `query_position`. Mask::causal: the keys at
// positions <= the query's (GPT-2's lower-triangular "bias" buffer);
// Mask::none: all key_end keys. Whether the scores above the diagonal take
// part is the only difference between the two masks.
inline int visible_keys(Mask mask, int query_position, int key_end) {
  if (mask == Mask::none) return key_end;
  return query_position + 1 < key_end ? query_position + 1 : key_end;
}

// Mode::full: all T positions in one pass (prefill / full recomputation).
// Mode::incremental: one position at a time, each against a key/value cache.
// Mode::chunked: prefill in chunks of N positions against the cache.
enum class Mode { full, incremental, chunked };

const char* mask_name(Mask mask);  // "causal", "none"
const char* mode_name(Mode mode);  // "full", "incremental", "chunked"

}  // namespace gpt2
