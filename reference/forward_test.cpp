// The whole forward pass: a model computed on paper, uniform attention,
// a single token, incremental against full, thread counts.
#include "reference/forward.h"

#include <gtest/gtest.h>

#include "model/checkpoint.h"
// forward<double> on Weights<double> (the hand model) is instantiated here.
#include "reference/forward_impl.h"
#include "reference/layers.h"
#include "reference/parallel.h"
#include "reference/reference_test_support.h"

namespace gpt2::reference {
namespace {

using testing::agreeing_digits;
using testing::for_each_tensor_pair;
using testing::scaled_difference;
using testing::test_seed;
using testing::test_tokens;

// A one-layer model small enough to follow on paper: L = 1, NH = 1, C = 2
// (HS = 2), V = 3, P = 2, eps = 1e-5 (the double nearest it,
// 1.0000000000000000818e-5), tokens [0, 1]. Every weight is 0 or 1 except
// where given.
//   wte = [[1, 0], [0, 1], [1, 1]],  wpe = [[0, 0], [0.5, 0]]
//   ln_1, ln_2, ln_f: gain (1, 1), bias (0, 0)
//   c_attn: W = [I | I | I] (q = k = v = input), bias (0, 0, 0, 0, 1, 2)
//   attn c_proj: W = I, bias (0.1, -0.1) (doubles: the weights are a Weights<double>)
//   c_fc: W columns 0, 1 = I, others 0; bias (0, 0, 1, -1, 0, 0, 0, 0)
//   mlp c_proj: rows 0 and 2 = (1, 0), rows 1 and 3 = (0, 1), others 0; bias 0
//
// LayerNorm of a 2-vector (u, w) is ±(d, -d)/sqrt(d² + eps), d = (u - w)/2.
//   embed: x0 = (1, 0), x1 = (0.5, 1)
//   ln_1:  n0 = (a0, -a0), a0 = 0.5/sqrt(0.25 + eps)    = 0.99998000059998000069833883800
//          n1 = (-a1, a1), a1 = 0.25/sqrt(0.0625 + eps) = 0.99992000959872017916765631013
//   q = k = n,  v0 = (1 + a0, 2 - a0),  v1 = (1 - a1, 2 + a1)
//   scores (causal), scaled by 1/sqrt(HS) = 1/sqrt(2):
//     position 0 sees only key 0:  o0 = v0
//     position 1: s10 = -sqrt(2)·a0·a1, s11 = sqrt(2)·a1²,
//       p10 = 1/(1 + exp(s11 - s10)), p11 = 1 - p10, o1 = p10·v0 + p11·v1
//       = (0.11172759727420561255830116033, 2.8882724027257943874416988397)
//   x' = x + o + (0.1, -0.1), where 0.1 is the double 0.1000000000000000055511151231:
//     x'0 = (3.0999800005999800062494539611, 0.90001999940001999375054603887)
//     x'1 = (0.71172759727420561810941628345, 3.7882724027257943818905837166)
//   ln_2: n'_t = ±(b_t, -b_t), b_0 = 0.99999586764394718189892582913,
//                              b_1 = -0.99999788698718743983920564246
//   hidden = (n'_t0, n'_t1, 1, -1, 0, 0, 0, 0), then gelu_new
//   mlp out m_t = (gelu(n'_t0) + gelu(1), gelu(n'_t1) + gelu(-1)),
//     gelu(1) = 0.84119199060827670478199577705, gelu(-1) = -0.15880800939172329521800422295
//   block.0 = x' + m (values below); ln_f = ±(f, -f) of it; logits = (f0, f1, f0 + f1 = 0).
// The digits were computed with mpmath at 60 digits from these equations.
Weights<double> hand_model() {
  Config config = make_config(1, 1, 2, 2, 3);
  Weights<double> w = zero_weights<double>(config);
  w.wte = {1, 0, 0, 1, 1, 1};
  w.wpe = {0, 0, 0.5, 0};
  BlockWeights<double>& b = w.blocks[0];
  b.ln_1_weight = {1, 1};
  b.ln_2_weight = {1, 1};
  w.ln_f_weight = {1, 1};
  // [C, 3C] = [2, 6]: q, k and v columns each the identity.
  b.attn_c_attn_weight = {1, 0, 1, 0, 1, 0,  //
                          0, 1, 0, 1, 0, 1};
  b.attn_c_attn_bias = {0, 0, 0, 0, 1, 2};
  b.attn_c_proj_weight = {1, 0, 0, 1};
  b.attn_c_proj_bias = {0.1, -0.1};
  // [C, 4C] = [2, 8]
  b.mlp_c_fc_weight = {1, 0, 0, 0, 0, 0, 0, 0,  //
                       0, 1, 0, 0, 0, 0, 0, 0};
  b.mlp_c_fc_bias = {0, 0, 1, -1, 0, 0, 0, 0};
  // [4C, C] = [8, 2]
  b.mlp_c_proj_weight = {1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
  return w;
}

struct HandExpected {
  std::vector<const char*> block0, ln_f, logits;
};

// From the derivation above (mpmath, 60 digits), rounded to 30 digits.
const HandExpected kHandCausal = {
    {"4.7823595066254140652662683862", "0.582403637781506870868434634805",
     "1.39411140318712745479378779952", "4.47065409562590365841416087508"},
    {"0.999998866191253493290527855969", "-0.999998866191253493290527855969",
     "-0.999997886984284954176379539912", "0.999997886984284954176379539912"},
    {"0.999998866191253493290527855969", "-0.999998866191253493290527855969", "0",
     "-0.999997886984284954176379539912", "0.999997886984284954176379539912", "0"}};

// Mask::none: position 0 also sees key 1 (s00 = sqrt(2)·a0², s01 = -sqrt(2)·a0·a1),
// so o0 = (1.88835027826988733419008734408, 1.11164972173011266580991265592);
// position 1 is unchanged.
const HandExpected kHandNoMask = {
    {"4.67072871631006723883968150239", "0.694033278296038952723451276351",
     "1.39411140318712745479378779952", "4.47065409562590365841416087508"},
    {"0.999998735308762192728870885863", "-0.999998735308762192728870885863",
     "-0.999997886984284954176379539912", "0.999997886984284954176379539912"},
    {"0.999998735308762192728870885863", "-0.999998735308762192728870885863", "0",
     "-0.999997886984284954176379539912", "0.999997886984284954176379539912", "0"}};

template <class Real>
void expect_near_digits(const std::vector<Real>& got, const std::vector<const char*>& expected,
                        double tolerance, const std::string& name) {
  ASSERT_EQ(got.size(), expected.size()) << name;
  for (size_t i = 0; i < got.size(); ++i) {
    const Real100 want(expected[i]);
    const Real100 error = abs(Real100(got[i]) - want);
    EXPECT_LE(static_cast<double>(error), tolerance)
        << name << "[" << i << "] = " << static_cast<double>(Real100(got[i])) << ", expected "
        << expected[i];
  }
}

template <class Real>
void check_hand_model(Mask mask, Mode mode, const HandExpected& expected, double tolerance) {
  // Weights at Real: the hand model's biases are doubles (0.1) that no float holds.
  const Weights<Real> weights = convert_weights<Real>(hand_model());
  Options options;
  options.mask = mask;
  options.mode = mode;
  const Trace<Real> trace = forward<Real>(weights, {0, 1}, options);
  expect_near_digits(trace.embed, {"1", "0", "0.5", "1"}, 0, "embed");
  expect_near_digits(trace.block[0], expected.block0, tolerance, "block.0");
  expect_near_digits(trace.ln_f, expected.ln_f, tolerance, "ln_f");
  expect_near_digits(trace.logits, expected.logits, tolerance, "logits");
}

TEST(ForwardTest, HandCheckedOneLayerModelAt50Digits) {
  // The expected values carry 30 digits; values are of order 1.
  check_hand_model<Real50>(Mask::causal, Mode::full, kHandCausal, 1e-28);
  check_hand_model<Real50>(Mask::causal, Mode::incremental, kHandCausal, 1e-28);
  check_hand_model<Real50>(Mask::none, Mode::full, kHandNoMask, 1e-28);
}

TEST(ForwardTest, HandCheckedOneLayerModelAtDoubleAndFloat) {
  check_hand_model<double>(Mask::causal, Mode::full, kHandCausal, 1e-14);
  check_hand_model<double>(Mask::none, Mode::full, kHandNoMask, 1e-14);
  check_hand_model<float>(Mask::causal, Mode::full, kHandCausal, 1e-5);
}

// With the query and key weights and biases zero, every score is 0 and the
// attention is uniform over the visible keys: position t's attention output
// is the mean of v_0 .. v_t (causal) or of all values (Mask::none). With
// c_proj = I and the MLP zero (gelu(0) = 0), block.0 = embed + that mean.
TEST(ForwardTest, ZeroQueryAndKeyWeightsGiveUniformAttention) {
  const uint64_t seed = test_seed(11);
  const Config config = make_config(1, 2, 4, 6, 8);
  const Weights<float> random = seeded_weights(config, seed);
  Weights<Real50> w = zero_weights<Real50>(config);
  const int C = config.n_embd, T = 5;
  w.wte = convert_weights<Real50>(random).wte;
  w.wpe = convert_weights<Real50>(random).wpe;
  BlockWeights<Real50>& b = w.blocks[0];
  b.ln_1_weight.assign(C, Real50(1));
  for (int i = 0; i < C; ++i)
    for (int j = 0; j < C; ++j)  // value columns: v = ln_1(x)·Wv with Wv[i][j] = (i + 1)·(j + 2)/10
      b.attn_c_attn_weight[i * 3 * C + 2 * C + j] = Real50(i + 1) * Real50(j + 2) / Real50(10);
  for (int i = 0; i < C; ++i) b.attn_c_proj_weight[i * C + i] = Real50(1);

  const std::vector<int> tokens = test_tokens(T, config.vocab_size);
  for (Mask mask : {Mask::causal, Mask::none}) {
    Options options;
    options.mask = mask;
    const Trace<Real50> trace = forward<Real50>(w, tokens, options);
    // v_t = LayerNorm(x_t)·Wv, by hand.
    std::vector<Real50> v(T * C, Real50(0));
    for (int t = 0; t < T; ++t) {
      Real50 mean = 0, variance = 0;
      for (int c = 0; c < C; ++c) mean += trace.embed[t * C + c] / C;
      for (int c = 0; c < C; ++c)
        variance += (trace.embed[t * C + c] - mean) * (trace.embed[t * C + c] - mean) / C;
      for (int j = 0; j < C; ++j)
        for (int i = 0; i < C; ++i)
          v[t * C + j] += (trace.embed[t * C + i] - mean) / sqrt(variance + Real50(1e-5)) *
                          Real50(i + 1) * Real50(j + 2) / Real50(10);
    }
    for (int t = 0; t < T; ++t) {
      const int visible = mask == Mask::causal ? t + 1 : T;
      for (int c = 0; c < C; ++c) {
        Real50 mean_value = 0;
        for (int j = 0; j < visible; ++j) mean_value += v[j * C + c];
        mean_value /= visible;
        const Real50 expected = trace.embed[t * C + c] + mean_value;
        EXPECT_LT(static_cast<double>(abs(trace.block[0][t * C + c] - expected)), 1e-45)
            << mask_name(mask) << " position " << t << " channel " << c;
      }
    }
  }
}

// With one token there is nothing above the diagonal: both masks and both
// modes give the same bits.
TEST(ForwardTest, SingleTokenIsIndifferentToMaskAndMode) {
  const uint64_t seed = test_seed(12);
  const Config config = make_config(2, 2, 8, 8, 16);
  const Weights<float> w = seeded_weights(config, seed);
  for (int token : {0, 7, 15}) {
    Options causal;
    Trace<Real50> reference = forward<Real50>(w, {token}, causal);
    for (Mode mode : {Mode::full, Mode::incremental}) {
      for (Mask mask : {Mask::causal, Mask::none}) {
        Options options;
        options.mask = mask;
        options.mode = mode;
        const Trace<Real50> trace = forward<Real50>(w, {token}, options);
        for_each_tensor_pair(trace, reference,
                             [&](const std::string& name, const auto& a, const auto& b) {
                               EXPECT_TRUE(a == b) << name << " token " << token << " "
                                                   << mode_name(mode) << " " << mask_name(mask);
                             });
      }
    }
  }
}

// Incremental decoding with a 50-digit key/value cache against full causal
// recomputation: every tensor at every position to at least 45 digits (any
// real difference is a bug, not rounding).
TEST(ForwardTest, IncrementalMatchesFullRecomputeAt50Digits) {
  const uint64_t seed = test_seed(13);
  for (const Config& config : {make_config(2, 2, 8, 8, 16), make_config(3, 3, 9, 7, 11)}) {
    const Weights<float> w = seeded_weights(config, seed);
    const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);  // T = n_ctx
    Options full, incremental;
    incremental.mode = Mode::incremental;
    const Trace<Real50> a = forward<Real50>(w, tokens, full);
    const Trace<Real50> b = forward<Real50>(w, tokens, incremental);
    for_each_tensor_pair(a, b, [&](const std::string& name, const auto& x, const auto& y) {
      const int width = name == "logits" ? config.vocab_size : config.n_embd;
      for (int t = 0; t < a.n_tokens; ++t) {
        const double digits = agreeing_digits(
            scaled_difference(testing::row(x, t, width), testing::row(y, t, width)));
        EXPECT_GE(digits, 45) << name << " position " << t;
      }
    });
  }
}

// Causality, exactly: a prefix of the tokens gives the same bits at its
// positions as the whole sequence (every row's arithmetic is independent of
// later rows), and position 0 is the single-token run of the first token.
TEST(ForwardTest, AppendingTokensNeverChangesEarlierPositions) {
  const uint64_t seed = test_seed(15);
  const Config config = make_config(2, 2, 8, 8, 16);
  const Weights<float> w = seeded_weights(config, seed);
  const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);
  for (Mode mode : {Mode::full, Mode::incremental}) {
    Options options;
    options.mode = mode;
    const Trace<Real50> whole = forward<Real50>(w, tokens, options);
    for (int T : {1, 3, config.n_ctx - 1}) {
      const std::vector<int> prefix(tokens.begin(), tokens.begin() + T);
      const Trace<Real50> part = forward<Real50>(w, prefix, options);
      for_each_tensor_pair(part, whole, [&](const std::string& name, const auto& a, const auto& b) {
        const size_t width = b.size() / whole.n_tokens;
        EXPECT_TRUE(a == std::vector<Real50>(b.begin(), b.begin() + T * width))
            << name << ": the first " << T << " positions changed, " << mode_name(mode);
      });
    }
  }
}

// The split of work across threads never changes a bit. The model is large
// enough that every projection is split (checked).
TEST(ForwardTest, ThreadCountDoesNotChangeAnyBit) {
  const uint64_t seed = test_seed(14);
  const Config config = make_config(2, 4, 128, 8, 300);
  const int T = 6;
  const Parallel two(2);
  ASSERT_GT(two.workers_for((config.n_embd + kLinearColumnBlock - 1) / kLinearColumnBlock,
                            int64_t{T} * config.n_embd * kLinearColumnBlock *
                                multiply_add_nanoseconds<Real50>()),
            1);
  const Weights<float> base = seeded_weights(config, seed);
  const Weights<float>& w50 = base;
  const std::vector<int> tokens = test_tokens(T, config.vocab_size);
  for (Mode mode : {Mode::full, Mode::incremental}) {
    Options one;
    one.threads = 1;
    one.mode = mode;
    const Trace<Real50> reference = forward<Real50>(w50, tokens, one);
    for (int threads : {2, 3}) {
      Options options = one;
      options.threads = threads;
      const Trace<Real50> trace = forward<Real50>(w50, tokens, options);
      for_each_tensor_pair(
          trace, reference, [&](const std::string& name, const auto& a, const auto& b) {
            EXPECT_TRUE(a == b) << name << " with " << threads << " threads, " << mode_name(mode);
          });
    }
  }
}

}  // namespace
}  // namespace gpt2::reference
