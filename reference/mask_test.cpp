// What removing the causal mask does (README.md, "Is the causal mask needed at
// inference?"):
// every position before the last changes from block 0 on; the last position
// is unchanged in block 0 and changes from block 1 on.
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "reference/forward.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::agreeing_digits;
using testing::row;
using testing::scaled_difference;
using testing::test_seed;
using testing::test_tokens;

// "Changed by far more than rounding" at 50 digits: the rows differ before
// the 30th significant digit. (With GPT-2-scale random weights the attention
// is nearly uniform, so the masked-out keys weigh about 1/T each and the
// measured changes are around 1e-3 of the row's scale. A model with near
// one-hot attention could give a masked-out key exactly zero weight; such
// models are not used here.)
constexpr double kChangedBelowDigits = 30;

struct MaskCase {
  Config config;
  int T;
};

TEST(MaskTest, NoMaskChangesEarlierPositionsFromBlock0AndTheLastFromBlock1) {
  const uint64_t seed = test_seed(21);
  for (const MaskCase& c :
       {MaskCase{make_config(2, 2, 8, 8, 16), 2}, MaskCase{make_config(3, 2, 8, 8, 16), 5},
        MaskCase{make_config(2, 3, 9, 7, 13), 7}}) {
    const Config& config = c.config;
    const int T = c.T, C = config.n_embd;
    const Weights<float> w = seeded_weights(config, seed);
    const std::vector<int> tokens = test_tokens(T, config.vocab_size);
    Options masked, unmasked;
    unmasked.mask = Mask::none;
    const Trace<Real50> a = forward<Real50>(w, tokens, masked);
    const Trace<Real50> b = forward<Real50>(w, tokens, unmasked);
    SCOPED_TRACE("L=" + std::to_string(config.n_layer) + " T=" + std::to_string(T));

    EXPECT_TRUE(a.embed == b.embed);  // the mask acts only inside attention
    for (int l = 0; l < config.n_layer; ++l) {
      for (int t = 0; t < T; ++t) {
        const double digits =
            agreeing_digits(scaled_difference(row(a.block[l], t, C), row(b.block[l], t, C)));
        const bool last = t == T - 1;
        if (last && l == 0) {
          // The last query sees every key under both masks: same keys, same
          // arithmetic, same bits.
          EXPECT_TRUE(row(a.block[l], t, C) == row(b.block[l], t, C)) << "block.0, last position";
        } else {
          EXPECT_LT(digits, kChangedBelowDigits)
              << "block." << l << " position " << t << " did not change without the mask";
        }
        std::printf("block.%d position %d: masked and unmasked agree to %.1f digits\n", l, t,
                    digits);
      }
    }
  }
}

}  // namespace
}  // namespace gpt2::reference
