#include "model/modes.h"

namespace gpt2 {

const char* mask_name(Mask mask) { return mask == Mask::causal ? "causal" : "none"; }

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::full:
      return "full";
    case Mode::incremental:
      return "incremental";
    case Mode::chunked:
      return "chunked";
  }
  return "?";
}

}  // namespace gpt2
