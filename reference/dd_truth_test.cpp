// The double-double forward pass agrees with the 50-digit truth to at least
// kDdDigitsOnPresets digits on every tensor of every golden case
// (fixtures/golden, made by fixtures/generate_golden.sh): the tier's claim.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "model/checkpoint.h"
#include "reference/agreement.h"
#include "reference/forward.h"

namespace gpt2::reference {
namespace {

// Issue 15's target for dd truths, shown against 50 digits (106 bits are
// 31.9 digits; a forward pass of a few thousand roundings of ≤ 16u² each,
// carried by gains of order 10-1000, leaves 28-30).
constexpr int kDdDigitsOnPresets = 28;

// The golden cases' tokens (fixtures/generate_golden.sh, `tokens`).
std::vector<int> golden_tokens(int T, int V) {
  std::vector<int> out;
  for (int i = 0; i < T; ++i) {
    int t = (i * 37 + 11) % V;
    if (T == 1)
      t = V - 1;
    else if (i == 1)
      t = 0;
    else if (T >= 3 && i == T - 2)
      t = V - 1;
    out.push_back(t);
  }
  return out;
}

struct GoldenCase {
  const char* name;
  const char* preset;
  int T;
  Mask mask;
  TraceLevel level;
};

TEST(DoubleDoubleTruth, AgreesWithFiftyDigitsOnTheGoldenSet) {
  const GoldenCase cases[] = {
      {"tiny-causal-T1", "tiny", 1, Mask::causal, TraceLevel::ops},
      {"tiny-causal-T5", "tiny", 5, Mask::causal, TraceLevel::ops},
      {"tiny-causal-T32", "tiny", 32, Mask::causal, TraceLevel::ops},
      {"tiny-none-T5", "tiny", 5, Mask::none, TraceLevel::ops},
      {"tiny-none-T32", "tiny", 32, Mask::none, TraceLevel::ops},
      {"small-causal-T128", "small", 128, Mask::causal, TraceLevel::blocks},
      {"small-none-T7", "small", 7, Mask::none, TraceLevel::blocks},
  };
  for (const GoldenCase& c : cases) {
    const Weights<float> w = preset_weights(c.preset);
    Options o;
    o.mask = c.mask;
    o.trace_level = c.level;
    o.threads = 2;
    const std::vector<int> tokens = golden_tokens(c.T, w.config.vocab_size);
    const auto dd = forward<DoubleDouble>(w, tokens, o);
    const auto truth = forward<Real50>(w, tokens, o);
    const std::vector<int> digits = agreeing_digits_per_tensor(dd, truth, 50);
    const int worst = *std::min_element(digits.begin(), digits.end());
    std::printf("%-18s dd agrees with 50 digits to >= %d digits on every tensor\n", c.name, worst);
    EXPECT_GE(worst, kDdDigitsOnPresets) << c.name;
  }
}

TEST(DoubleDoubleTruth, IncrementalEqualsFullAndThreadsChangeNoBit) {
  const Weights<float> w = preset_weights("tiny");
  const std::vector<int> tokens = golden_tokens(9, w.config.vocab_size);
  Options full;
  full.threads = 1;
  Options two = full;
  two.threads = 2;
  const auto a = forward<DoubleDouble>(w, tokens, full);
  const auto b = forward<DoubleDouble>(w, tokens, two);
  EXPECT_EQ(0,
            std::memcmp(a.logits.data(), b.logits.data(), a.logits.size() * sizeof(DoubleDouble)));
  Options incremental = full;
  incremental.mode = Mode::incremental;
  const auto c = forward<DoubleDouble>(w, tokens, incremental);
  // The last position sees the same keys in the same order either way.
  const auto rows = agreeing_digits_per_tensor(c, a, 50);
  EXPECT_GE(*std::min_element(rows.begin(), rows.end()), kDdDigitsOnPresets);
}

}  // namespace
}  // namespace gpt2::reference
