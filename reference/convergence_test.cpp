// The reference's own accuracy, shown rather than assumed (docs/architecture.md,
// numerics policy): 50 digits against 100 digits, and double against 50 digits.
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "reference/forward.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::agreeing_digits;
using testing::for_each_tensor_pair;
using testing::scaled_difference;
using testing::test_seed;
using testing::test_tokens;

struct ConvergenceCase {
  Config config;
  int T;
  Mode mode;
  Mask mask;
};

std::vector<ConvergenceCase> convergence_cases() {
  return {{make_config(2, 2, 16, 32, 64), 8, Mode::full, Mask::causal},  // the tiny preset's shape
          {make_config(1, 1, 5, 3, 7), 3, Mode::full, Mask::causal},
          {make_config(3, 3, 9, 7, 11), 7, Mode::incremental, Mask::causal},
          {make_config(2, 2, 8, 8, 16), 5, Mode::full, Mask::none}};
}

std::string describe(const ConvergenceCase& c) {
  return "L=" + std::to_string(c.config.n_layer) + " NH=" + std::to_string(c.config.n_head) +
         " C=" + std::to_string(c.config.n_embd) + " V=" + std::to_string(c.config.vocab_size) +
         " T=" + std::to_string(c.T) + " " + mode_name(c.mode) + " " + mask_name(c.mask);
}

// The case's forward pass at precision R on the float weights `base`.
template <class R>
Trace<R> run_case(const ConvergenceCase& c, const Weights<float>& base) {
  Options options;
  options.mode = c.mode;
  options.mask = c.mask;
  return forward<R>(base, test_tokens(c.T, c.config.vocab_size), options);
}

// The same case at 50 and at 100 digits agrees to at least 45 significant
// digits (relative to each tensor's scale) in every tensor.
TEST(ConvergenceTest, FiftyAndHundredDigitsAgreeTo45Digits) {
  const uint64_t seed = test_seed(31);
  for (const ConvergenceCase& c : convergence_cases()) {
    SCOPED_TRACE(describe(c));
    const Weights<float> base = seeded_weights(c.config, seed);
    const Trace<Real50> t50 = run_case<Real50>(c, base);
    const Trace<Real100> t100 = run_case<Real100>(c, base);
    for_each_tensor_pair(t50, t100, [&](const std::string& name, const auto& a, const auto& b) {
      const double digits = agreeing_digits(scaled_difference(a, b));
      std::printf("%s %s: 50 vs 100 digits agree to %.1f digits\n", describe(c).c_str(),
                  name.c_str(), digits);
      EXPECT_GE(digits, 45) << name;
    });
  }
}

// double agrees with 50 digits to about 1e-13 of each tensor's scale (a
// double rounding is 1.1e-16; the sums here are a few dozen terms long and
// LayerNorm amplifies by at most 1/std of its row, ~50 for these weights).
TEST(ConvergenceTest, DoubleAgreesWithFiftyDigitsToAbout1e13) {
  const uint64_t seed = test_seed(32);
  for (const ConvergenceCase& c : convergence_cases()) {
    SCOPED_TRACE(describe(c));
    const Weights<float> base = seeded_weights(c.config, seed);
    const Trace<Real50> t50 = run_case<Real50>(c, base);
    const Trace<double> t64 = run_case<double>(c, base);
    for_each_tensor_pair(t64, t50, [&](const std::string& name, const auto& a, const auto& b) {
      const double error = static_cast<double>(scaled_difference(a, b));
      std::printf("%s %s: double vs 50 digits: %.2e of scale\n", describe(c).c_str(), name.c_str(),
                  error);
      EXPECT_LE(error, 1e-13) << name;
    });
  }
}

// The float instantiation (the oracle's naive float32 baseline) is float
// arithmetic: within ~1e-5 of the truth here, and not accidentally exact.
TEST(ConvergenceTest, FloatIsFloatArithmetic) {
  const uint64_t seed = test_seed(33);
  const ConvergenceCase c = convergence_cases()[0];
  const Weights<float> base = seeded_weights(c.config, seed);
  const std::vector<int> tokens = test_tokens(c.T, c.config.vocab_size);
  const Trace<Real50> t50 = forward<Real50>(base, tokens, {});
  const Trace<float> t32 = forward<float>(base, tokens, {});
  const double error = static_cast<double>(scaled_difference(t32.logits, t50.logits));
  std::printf("float vs 50 digits, logits: %.2e of scale\n", error);
  EXPECT_LE(error, 1e-5);
  EXPECT_GT(error, 1e-10);
}

}  // namespace
}  // namespace gpt2::reference
