// The engine: incremental and chunked prefill against full recomputation,
// thread-count invariance, and the errors for bad input.
#include "optimized/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "model/error.h"
#include "optimized/cpu_features.h"
#include "optimized/simd_test_support.h"
#include "optimized/model_test_support.h"
#include "optimized/trace_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::bit_identical;
using testing::cross_order_tolerance;
using testing::describe;
using testing::max_scaled_difference;
using testing::random_tokens;
using testing::random_weights;

std::vector<Config> shapes() {
  return {
      make_config(1, 1, 1, 4, 3),     // head size 1, one head
      make_config(2, 3, 3, 7, 7),     // head size 1
      make_config(2, 2, 10, 9, 13),   // HS = 5
      make_config(2, 4, 16, 17, 50),  // HS = 4
  };
}

// The sets of PanelKernels: fast, bf16 and the profiles' sets (their
// roundings are elementwise, on top of it).
bool is_panel_set(const std::string& name) {
  for (const char* panel : {"fast", "bf16", "f16kv", "bf16-autocast", "f16-gelu-table", "ggml-f16"})
    if (name == panel) return true;
  return false;
}

// Within one kernel set, incremental decoding and chunked prefill reproduce
// the full causal pass at every position (T = n_ctx, chunks 1, 2, 3, P-1).
TEST(Engine, IncrementalAndChunkedMatchFullAtEveryPosition) {
  uint64_t seed = 100;
  double worst_fraction = 0;  // of the tolerance, printed pass or fail
  for (const Config& config : shapes())
    for (const KernelSet& set : kernels()) {
      ++seed;
      SCOPED_TRACE(::testing::Message() << set.name << " " << describe(config) << " seed=" << seed);
      const Weights<float> w = random_weights(config, seed);
      const auto tokens = random_tokens(config.n_ctx, config.vocab_size, seed);
      const auto full = run_trace(w, tokens, set.name, Mode::full, 0, Mask::causal, 2);
      std::vector<std::pair<std::string, Trace<double>>> others;
      others.emplace_back("incremental",
                          run_trace(w, tokens, set.name, Mode::incremental, 0, Mask::causal, 2));
      for (int chunk : {1, 2, 3, config.n_ctx - 1})
        others.emplace_back("chunked " + std::to_string(chunk),
                            run_trace(w, tokens, set.name, Mode::chunked, chunk, Mask::causal, 2));
      for (const auto& [name, trace] : others) {
        SCOPED_TRACE(name);
        const auto diff = max_scaled_difference(trace, full);
        EXPECT_LE(diff.error, cross_order_tolerance(config))
            << "worst at " << diff.tensor << " position " << diff.position;
        worst_fraction = std::max(worst_fraction, diff.error / cross_order_tolerance(config));
        // The panel kernels compute every element by one fma chain whose order
        // does not depend on how many positions a pass holds, and attention
        // walks the same keys in the same order: they must agree exactly.
        if (is_panel_set(set.name)) {
          EXPECT_TRUE(bit_identical(trace, full)) << "scaled difference " << diff.error;
        }
      }
    }
  std::printf("incremental/chunked vs full: worst difference %.3g of the tolerance\n",
              worst_fraction);
}

// A prompt prefilled in chunks leaves the same cache as one prefill: the
// decode steps that follow agree.
TEST(Engine, DecodeAfterChunkedPrefillMatchesDecodeAfterOnePrefill) {
  const Config config = make_config(2, 2, 10, 12, 13);
  const Weights<float> w = random_weights(config, 7);
  const auto tokens = random_tokens(config.n_ctx, config.vocab_size, 7);
  const std::span<const int> prompt(tokens.data(), 8);
  for (const KernelSet& set : kernels()) {
    SCOPED_TRACE(set.name);
    Engine one(w, set, 2), chunked(w, set, 2);
    one.prefill(prompt);
    chunked.prefill(prompt.first(3));
    chunked.prefill(prompt.subspan(3, 4));
    chunked.prefill(prompt.subspan(7));
    EXPECT_EQ(chunked.position(), 8);
    // The two caches differ at most by rounding order (a set may sum a
    // 3-row pass in another order than an 8-row one), so the logits differ by
    // at most cross_order_tolerance of their scale, max(1, max |logit|), as
    // that bound is stated (trace_test_support.h).
    for (int i = 8; i < config.n_ctx; ++i) {
      const auto a = one.decode(tokens[i]);
      const std::vector<float> expected(a.begin(), a.end());
      const auto b = chunked.decode(tokens[i]);
      double scale = 1, difference = 0;
      for (int v = 0; v < config.vocab_size; ++v) {
        scale = std::max(scale, std::abs(double(expected[v])));
        difference = std::max(difference, std::abs(double(b[v]) - double(expected[v])));
      }
      EXPECT_LE(difference / scale, cross_order_tolerance(config)) << "position " << i;
      std::printf("%s position %d: logits differ by %.2e of their scale %.3g (bound %.2e)\n",
                  set.name.c_str(), i, difference / scale, scale, cross_order_tolerance(config));
    }
  }
}

// Results are bit-identical for any thread count, in every mode.
TEST(Engine, ResultsDoNotDependOnTheThreadCount) {
  const Config config = make_config(2, 4, 40, 11, 70);  // 4C = 160: 10 panels; V: 5 panels
  const Weights<float> w = random_weights(config, 11);
  const auto tokens = random_tokens(config.n_ctx, config.vocab_size, 11);
  for (const KernelSet& set : kernels())
    for (Mode mode : {Mode::full, Mode::incremental, Mode::chunked}) {
      SCOPED_TRACE(::testing::Message() << set.name << " " << mode_name(mode));
      const auto one = run_trace(w, tokens, set.name, mode, 4, Mask::causal, 1);
      for (int threads : {2, 3}) {
        EXPECT_TRUE(
            bit_identical(one, run_trace(w, tokens, set.name, mode, 4, Mask::causal, threads)))
            << threads << " threads";
      }
    }
}

// fast and bf16 choose AVX-512, AVX2+FMA or scalar code at run time; every
// path performs the same float operations, so the whole trace is the same
// bits as the scalar path's (a test per vector path, skipped where the CPU
// lacks it).
class EngineOnPath : public ::testing::TestWithParam<Simd> {};
INSTANTIATE_TEST_SUITE_P(Simd, EngineOnPath, ::testing::ValuesIn(testing::kVectorSimdPaths),
                         testing::simd_param_name);

TEST_P(EngineOnPath, PanelSetsGiveTheSameBitsAsTheScalarPath) {
  GPT2_SKIP_UNLESS_CPU_HAS(GetParam());
  testing::SimdGuard guard;
  std::vector<Config> configs = shapes();
  configs.push_back(make_config(2, 2, 128, 21, 70));  // HS = 64 as in GPT-2; 21 keys: 2 blocks + 5
  configs.push_back(make_config(1, 3, 48, 19, 200));  // 4C = 192: whole 3-panel groups
  for (const Config& config : configs)
    for (const std::string kernel : {"fast", "bf16"})
      for (Mode mode : {Mode::full, Mode::incremental}) {
        SCOPED_TRACE(::testing::Message()
                     << describe(config) << " " << kernel << " " << mode_name(mode));
        const Weights<float> w = random_weights(config, 5);
        const auto tokens = random_tokens(config.n_ctx, config.vocab_size, 5);
        set_simd(Simd::scalar);
        const auto scalar = run_trace(w, tokens, kernel, mode, 1, Mask::causal, 2);
        set_simd(GetParam());
        EXPECT_TRUE(bit_identical(scalar, run_trace(w, tokens, kernel, mode, 1, Mask::causal, 2)));
      }
}

TEST(Engine, ResetStartsOverWithTheSameResult) {
  const Config config = make_config(1, 2, 8, 6, 9);
  const Weights<float> w = random_weights(config, 3);
  const std::vector<int> prompt{1, 4, 8};
  for (const KernelSet& set : kernels()) {
    Engine engine(w, set, 2);
    const auto first = engine.prefill(prompt);
    const std::vector<float> a(first.begin(), first.end());
    engine.decode(2);
    engine.reset();
    EXPECT_EQ(engine.position(), 0);
    const auto again = engine.prefill(prompt);
    EXPECT_EQ(std::vector<float>(again.begin(), again.end()), a) << set.name;
  }
}

// Returns the InputError message of f(), or "" (and a failure) if none.
template <class F>
std::string input_error(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError";
  return "";
}

TEST(Engine, PositionsBeyondTheContextAreAnErrorNotAWrap) {
  const Config config = make_config(1, 1, 4, 5, 6);
  const Weights<float> w = random_weights(config, 1);
  for (const KernelSet& set : kernels()) {
    SCOPED_TRACE(set.name);
    Engine engine(w, set, 2);
    const std::vector<int> too_long(6, 1);
    EXPECT_NE(input_error([&] { engine.prefill(too_long); }).find("exceeds the context of 5"),
              std::string::npos);
    EXPECT_EQ(engine.position(), 0) << "a refused pass changes nothing";
    engine.prefill(std::vector<int>{1, 2, 3});
    engine.decode(4);
    engine.decode(5);
    EXPECT_EQ(engine.position(), 5);
    const std::string message = input_error([&] { engine.decode(1); });
    EXPECT_NE(message.find("decode of 1 token(s) at position 5 exceeds the context of 5"),
              std::string::npos)
        << message;
    EXPECT_EQ(engine.position(), 5);
  }
}

TEST(Engine, TokensOutsideTheVocabularyAndEmptyPromptsAreErrors) {
  const Config config = make_config(1, 1, 4, 5, 6);
  const Weights<float> w = random_weights(config, 1);
  Engine engine(w, find_kernel("fast"), 1);
  EXPECT_NE(input_error([&] {
              engine.prefill(std::vector<int>{0, 6});
            }).find("outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(input_error([&] { engine.decode(-1); }).find("token -1"), std::string::npos);
  EXPECT_NE(input_error([&] { engine.prefill(std::vector<int>{}); }).find("empty"),
            std::string::npos);
  EXPECT_FALSE(input_error([&] {
                 run_trace(w, {1, 2}, "fast", Mode::chunked, 0, Mask::causal, 1);
               }).empty());
  EXPECT_FALSE(input_error([&] {
                 run_trace(w, std::vector<int>(6, 0), "fast", Mode::full, 0, Mask::causal, 1);
               }).empty());
  EXPECT_FALSE(input_error([&] {
                 run_trace(w, {1}, "no-such-kernel", Mode::full, 0, Mask::causal, 1);
               }).empty());
}

// The README's question ("Is the causal mask needed at inference?"), at the
// engine: without the mask, block 0's last
// position is unchanged (it sees every key anyway) and earlier ones change.
TEST(Engine, MaskNoneChangesEarlierPositionsButNotTheLastInBlockZero) {
  const Config config = make_config(2, 2, 10, 6, 13);
  const Weights<float> w = random_weights(config, 21);
  const auto tokens = random_tokens(config.n_ctx, config.vocab_size, 21);
  for (const KernelSet& set : kernels()) {
    SCOPED_TRACE(set.name);
    const auto causal = run_trace(w, tokens, set.name, Mode::full, 0, Mask::causal, 1);
    const auto none = run_trace(w, tokens, set.name, Mode::full, 0, Mask::none, 1);
    const int C = config.n_embd, T = config.n_ctx;
    double last = 0, first = 0;
    for (int c = 0; c < C; ++c) {
      last = std::max(last,
                      std::abs(causal.block[0][(T - 1) * C + c] - none.block[0][(T - 1) * C + c]));
      first = std::max(first, std::abs(causal.block[0][c] - none.block[0][c]));
    }
    EXPECT_LE(last, cross_order_tolerance(config));
    EXPECT_GT(first, 1e-3);
  }
}

}  // namespace
}  // namespace gpt2::optimized
