// The reference under a precision profile (model/profile.h, Options::profile):
// the profile's roundings at exactly its points and nowhere else.
//   - The profile f32 is no profile, bit for bit.
//   - Each point alone rounds exactly the tensors it names, and nothing
//     upstream of it changes.
//   - Each point against a hand computation on a small model.
//   - Full and incremental modes, and a batch's rows and their single runs,
//     stay bit-identical under every built-in profile.
//   - 50 digits and double agree to a few units of f16 under ggml-f16.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/profile.h"
#include "reference/attention.h"
#include "reference/forward.h"
#include "reference/layers.h"
#include "reference/reference_test_support.h"
#include "reference/rounding.h"

namespace gpt2::reference {
namespace {

using testing::test_seed;
using testing::test_tokens;

// A model small enough to be quick and large enough that every point acts:
// L = 2, NH = 2, C = 8 (HS = 4), P = 6, V = 16.
Config small_config() { return make_config(2, 2, 8, 6, 16); }

// A profile whose one point `point` is `format` (every other point f32).
Profile only(FloatFormat Profile::*point, FloatFormat format, const std::string& name) {
  Profile p;
  p.name = name + "-" + float_format_name(format);
  p.*point = format;
  return p;
}

Profile gelu_table_only() {
  Profile p;
  p.name = "gelu-table";
  p.gelu = GeluForm::table_f16;
  return p;
}

template <class Real>
Trace<Real> run_under(const Weights<float>& w, const std::vector<int>& tokens,
                      const Profile* profile, Mode mode = Mode::full) {
  Options options;
  options.profile = profile;
  options.mode = mode;
  options.trace_level = TraceLevel::ops;
  return forward<Real>(w, tokens, options);
}

// The tensor of `trace` named `name` ("embed", "block.0.qkv", "logits", ...).
template <class Real>
const std::vector<Real>& tensor(const Trace<Real>& trace, const std::string& name) {
  const std::optional<TensorId> id = parse_tensor_name(name, trace.n_layer());
  GPT2_CHECK(id.has_value(), "no tensor " + name);
  return tensor_of(trace, *id);
}

template <class A, class B>
void expect_identical(const std::vector<A>& a, const std::vector<B>& b, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    if (!(a[i] == b[i])) {
      ADD_FAILURE() << what << "[" << i << "]: " << static_cast<double>(a[i]) << " against "
                    << static_cast<double>(b[i]);
      return;
    }
}

// Every tensor of two traces of the same level, by name, with ==.
template <class Real>
void expect_identical_traces(const Trace<Real>& a, const Trace<Real>& b, const std::string& what) {
  ASSERT_EQ(a.n_tokens, b.n_tokens) << what;
  std::map<std::string, const std::vector<Real>*> by_name;
  for_each_trace_tensor(b, [&](const std::string& name, const std::vector<Real>& t, const Shape&) {
    by_name[name] = &t;
  });
  for_each_trace_tensor(a, [&](const std::string& name, const std::vector<Real>& t, const Shape&) {
    ASSERT_TRUE(by_name.count(name)) << what << ": " << name;
    expect_identical(t, *by_name[name], what + ": " + name);
  });
}

bool differs(const std::vector<double>& a, const std::vector<double>& b) { return a != b; }

void expect_representable(const std::vector<double>& t, FloatFormat format,
                          const std::string& what) {
  for (size_t i = 0; i < t.size(); ++i)
    if (round_to(format, t[i]) != t[i]) {
      ADD_FAILURE() << what << "[" << i << "] = " << t[i] << " is no " << float_format_name(format)
                    << " value";
      return;
    }
}

// (a) ---------------------------------------------------------------------------

template <class Real>
void expect_f32_profile_is_no_profile(const Weights<float>& w, const std::vector<int>& tokens) {
  Profile plain;  // every point f32, as a profile file with only a name reads
  plain.name = "plain";
  for (Mode mode : {Mode::full, Mode::incremental}) {
    const Trace<Real> none = run_under<Real>(w, tokens, nullptr, mode);
    expect_identical_traces(run_under<Real>(w, tokens, &find_profile("f32"), mode), none,
                            std::string("f32, ") + mode_name(mode));
    expect_identical_traces(run_under<Real>(w, tokens, &plain, mode), none,
                            std::string("all-f32 file, ") + mode_name(mode));
  }
}

TEST(ProfileReference, TheF32ProfileGivesTheBitsOfNoProfileInFloatAndAt50Digits) {
  const uint64_t seed = test_seed(1601);
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, seed);
  const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);
  expect_f32_profile_is_no_profile<float>(w, tokens);
  expect_f32_profile_is_no_profile<Real50>(w, tokens);
}

// (b) ---------------------------------------------------------------------------

struct PointCase {
  const char* point;
  Profile profile;
  FloatFormat format;
};

std::vector<PointCase> single_point_cases() {
  std::vector<PointCase> cases;
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16}) {
    cases.push_back({"residual", only(&Profile::residual, f, "residual"), f});
    cases.push_back({"matmul_inputs", only(&Profile::matmul_inputs, f, "matmul"), f});
    cases.push_back({"kv_cache", only(&Profile::kv_cache, f, "kv"), f});
    cases.push_back({"attention_probs", only(&Profile::attention_probs, f, "probs"), f});
  }
  cases.push_back({"gelu", gelu_table_only(), FloatFormat::f16});
  return cases;
}

// For each point alone, at double: the tensors the spec names as rounded are
// values of the format; the tensors before the first rounding are the f32
// profile's, bit for bit; the first tensor the rounding reaches changes.
TEST(ProfileReference, EachPointAloneRoundsTheTensorsItNamesAndNothingUpstream) {
  const uint64_t seed = test_seed(1602);
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, seed);
  const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);
  const Trace<double> f32 = run_under<double>(w, tokens, nullptr);
  for (const PointCase& c : single_point_cases()) {
    const std::string what = c.profile.name;
    SCOPED_TRACE(what);
    const Trace<double> t = run_under<double>(w, tokens, &c.profile);
    // Upstream of the first rounding, and the first tensor it changes.
    std::vector<std::string> unchanged;
    std::string first_changed;
    const std::string point = c.point;
    if (point == "residual") {
      first_changed = "embed";
      for (int l = 0; l < config.n_layer; ++l) {
        expect_representable(tensor(t, "block." + std::to_string(l) + ".mid"), c.format, what);
        expect_representable(tensor(t, "block." + std::to_string(l)), c.format, what);
      }
      expect_representable(t.embed, c.format, what + " embed");
      std::vector<double> rounded_embed = f32.embed;
      round_in_place(rounded_embed, c.format);
      expect_identical(t.embed, rounded_embed, what + ": embed is f32's embed, rounded");
    } else if (point == "matmul_inputs") {
      unchanged = {"embed", "block.0.ln_1"};
      first_changed = "block.0.qkv";
    } else if (point == "kv_cache" || point == "attention_probs") {
      unchanged = {"embed", "block.0.ln_1", "block.0.qkv"};
      first_changed = "block.0.attn";
    } else {  // gelu table
      unchanged = {"embed",        "block.0.ln_1", "block.0.qkv",
                   "block.0.attn", "block.0.mid",  "block.0.ln_2"};
      first_changed = "block.0.gelu";
      // Every output of the table proper (below its upper clamp) is an f16 value.
      for (int l = 0; l < config.n_layer; ++l) {
        std::vector<double> below_clamp;
        for (double g : tensor(t, "block." + std::to_string(l) + ".gelu"))
          if (g < kGeluTableHigh) below_clamp.push_back(g);
        EXPECT_FALSE(below_clamp.empty());
        expect_representable(below_clamp, FloatFormat::f16, what + " gelu");
      }
    }
    for (const std::string& name : unchanged)
      expect_identical(tensor(t, name), tensor(f32, name), what + ": " + name);
    EXPECT_TRUE(differs(tensor(t, first_changed), tensor(f32, first_changed)))
        << what << ": " << first_changed << " is f32's";
    EXPECT_TRUE(differs(t.logits, f32.logits)) << what;
  }
}

// (c) ---------------------------------------------------------------------------

// residual: embed = round(wte[token] + wpe[position]), by hand.
TEST(ProfileReference, ResidualRoundsTheEmbeddingSum) {
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, test_seed(1603));
  const std::vector<int> tokens = test_tokens(4, config.vocab_size);
  const int C = config.n_embd;
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16}) {
    const Profile p = only(&Profile::residual, f, "residual");
    const Trace<double> t = run_under<double>(w, tokens, &p);
    for (int i = 0; i < 4; ++i)
      for (int c = 0; c < C; ++c) {
        const double sum = double(w.wte[tokens[i] * C + c]) + double(w.wpe[i * C + c]);
        EXPECT_EQ(t.embed[i * C + c], round_to(f, sum)) << p.name << " " << i << " " << c;
      }
  }
}

// matmul_inputs: qkv = round(ln_1)·W + b and logits = round(ln_f)·wteᵀ, while
// the trace keeps ln_1 and ln_f unrounded.
TEST(ProfileReference, MatmulInputsRoundACopyOfTheOperand) {
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, test_seed(1604));
  const int T = 5, C = config.n_embd, V = config.vocab_size;
  const std::vector<int> tokens = test_tokens(T, V);
  const Parallel one(1);
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16}) {
    const Profile p = only(&Profile::matmul_inputs, f, "matmul");
    const Trace<double> t = run_under<double>(w, tokens, &p);
    std::vector<double> ln_1 = t.ops[0].ln_1, qkv, unrounded_qkv;
    linear(unrounded_qkv, ln_1, w.blocks[0].attn_c_attn_weight, w.blocks[0].attn_c_attn_bias, T, C,
           3 * C, one);
    round_in_place(ln_1, f);
    EXPECT_NE(ln_1, t.ops[0].ln_1) << "the trace's ln_1 is the op's output, before rounding";
    linear(qkv, ln_1, w.blocks[0].attn_c_attn_weight, w.blocks[0].attn_c_attn_bias, T, C, 3 * C,
           one);
    expect_identical(t.ops[0].qkv, qkv, p.name + ": qkv = round(ln_1)·W + b");
    EXPECT_NE(t.ops[0].qkv, unrounded_qkv) << p.name;
    std::vector<double> ln_f = t.ln_f, expected_logits;
    round_in_place(ln_f, f);
    logits(expected_logits, ln_f, w.wte, T, C, V, one);
    expect_identical(t.logits, expected_logits, p.name + ": logits = round(ln_f)·wteᵀ");
  }
}

// kv_cache: position 0 sees only key 0, with probability exactly 1, so its
// attention output is v_0 as the cache stores it: rounded. (The trace's qkv
// keeps v_0 unrounded.) In both modes.
TEST(ProfileReference, KvCacheAttentionAtPositionZeroIsTheRoundedValue) {
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, test_seed(1605));
  const std::vector<int> tokens = test_tokens(3, config.vocab_size);
  const int C = config.n_embd;
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16})
    for (Mode mode : {Mode::full, Mode::incremental}) {
      const Profile p = only(&Profile::kv_cache, f, "kv");
      const Trace<double> t = run_under<double>(w, tokens, &p, mode);
      for (int l = 0; l < config.n_layer; ++l) {
        bool any_rounded = false;
        for (int c = 0; c < C; ++c) {
          const double v0 = t.ops[l].qkv[2 * C + c];
          EXPECT_EQ(t.ops[l].attn[c], round_to(f, v0))
              << p.name << " " << mode_name(mode) << " block " << l << " channel " << c;
          any_rounded = any_rounded || round_to(f, v0) != v0;
        }
        EXPECT_TRUE(any_rounded) << "the trace's qkv is before the rounding";
      }
    }
}

// attention_probs: with one visible key the probability 1 is exact (position
// 0's output is v_0 itself); at position 1, o = Σ_j round(p_j)·v_j by hand.
TEST(ProfileReference, AttentionProbabilitiesAreRoundedBeforeTheyMultiplyV) {
  const Config config = small_config();
  const Weights<float> w = seeded_weights(config, test_seed(1606));
  const std::vector<int> tokens = test_tokens(2, config.vocab_size);
  const int C = config.n_embd, HS = config.head_size();
  for (FloatFormat f : {FloatFormat::bf16, FloatFormat::f16}) {
    const Profile p = only(&Profile::attention_probs, f, "probs");
    const Trace<double> t = run_under<double>(w, tokens, &p);
    const std::vector<double>& qkv = t.ops[0].qkv;  // [2, 3C]
    for (int c = 0; c < C; ++c)
      EXPECT_EQ(t.ops[0].attn[c], qkv[2 * C + c]) << p.name << ": probability 1 is exact";
    for (int h = 0; h < config.n_head; ++h) {
      // Position 1, head h, in the order of attention.h's loops.
      double scores[2];
      for (int j = 0; j < 2; ++j) {
        double dot = 0;
        for (int d = 0; d < HS; ++d)
          dot += qkv[3 * C + h * HS + d] * qkv[j * 3 * C + C + h * HS + d];
        scores[j] = dot / std::sqrt(double(HS));
      }
      const double top = std::max(scores[0], scores[1]);
      const double e0 = std::exp(scores[0] - top), e1 = std::exp(scores[1] - top);
      const double sum = e0 + e1;
      const double p0 = round_to(f, e0 / sum), p1 = round_to(f, e1 / sum);
      EXPECT_TRUE(p0 != e0 / sum || p1 != e1 / sum) << "no probability needed rounding";
      for (int d = 0; d < HS; ++d) {
        double o = 0;
        o += p0 * qkv[2 * C + h * HS + d];
        o += p1 * qkv[3 * C + 2 * C + h * HS + d];
        EXPECT_EQ(t.ops[0].attn[C + h * HS + d], o) << p.name << " head " << h << " d " << d;
      }
    }
  }
}

// gelu table_f16, the function: the clamps compare u itself; inside them the
// f16 value of the formula at the f16 value of u.
TEST(ProfileReference, GeluTableClampsAndRoundsInputAndOutput) {
  const GeluTableF16<double> table;
  const GeluTanh<double> formula;
  EXPECT_EQ(table(-10.5), 0.0);
  EXPECT_EQ(table(-10.0), 0.0);
  EXPECT_EQ(table(12.0), 12.0);
  EXPECT_EQ(table(10.0), 10.0);
  EXPECT_EQ(table(10.3), 10.3) << "above the table, u unrounded";
  EXPECT_NE(round_to(FloatFormat::f16, 10.3), 10.3);
  for (double u : {-9.9, -3.0, -0.7, 0.1, 0.7, 2.5, 9.9}) {
    const double g = table(u);
    EXPECT_EQ(g, round_to(FloatFormat::f16, formula(round_to(FloatFormat::f16, u)))) << u;
    EXPECT_EQ(round_to(FloatFormat::f16, g), g) << u << ": an f16 value";
  }
  EXPECT_NE(table(-3.0), formula(-3.0));
  // At 50 digits: the same clamps, and the formula at 50 digits inside them.
  const GeluTableF16<Real50> table50;
  EXPECT_EQ(table50(Real50("12.3")), Real50("12.3"));
  EXPECT_EQ(table50(Real50("-10.5")), Real50(0));
  const Real50 g50 = table50(Real50("0.7"));
  EXPECT_EQ(round_to(FloatFormat::f16, g50), g50);
}

// gelu table_f16 in the pass: c_fc biases of -20 and +20 put the
// pre-activations of two columns beyond the clamps: 0, and u itself (no f16
// value), which the formula also gives there.
TEST(ProfileReference, GeluTableClampsInThePass) {
  const Config config = small_config();
  Weights<float> w = seeded_weights(config, test_seed(1607));
  w.blocks[0].mlp_c_fc_bias[0] = -20.0f;
  w.blocks[0].mlp_c_fc_bias[1] = 20.0f;
  const int T = 4, H = 4 * config.n_embd;
  const std::vector<int> tokens = test_tokens(T, config.vocab_size);
  const Profile p = gelu_table_only();
  const Trace<double> table = run_under<double>(w, tokens, &p);
  const Trace<double> formula = run_under<double>(w, tokens, nullptr);
  for (int t = 0; t < T; ++t) {
    EXPECT_EQ(table.ops[0].gelu[t * H + 0], 0.0) << t;
    const double u = table.ops[0].gelu[t * H + 1];
    EXPECT_GT(u, 10.0);
    EXPECT_EQ(u, formula.ops[0].gelu[t * H + 1]) << t << ": the formula gives u there too";
    EXPECT_NE(round_to(FloatFormat::f16, u), u) << t << ": u is not rounded";
  }
}

// (d) ---------------------------------------------------------------------------

// Incremental mode's cache holds exactly the keys and values full mode
// reads, rounded alike: every tensor bit for bit under every built-in
// profile (on the profile's rounded weights).
TEST(ProfileReference, FullAndIncrementalAreBitIdenticalUnderEveryBuiltInProfile) {
  const uint64_t seed = test_seed(1608);
  const Config config = small_config();
  const Weights<float> stored = seeded_weights(config, seed);
  const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);
  for (const Profile& p : builtin_profiles()) {
    const Weights<float> w = round_weights(stored, p);
    expect_identical_traces(run_under<double>(w, tokens, &p, Mode::incremental),
                            run_under<double>(w, tokens, &p, Mode::full), p.name);
  }
}

// (e) ---------------------------------------------------------------------------

// A padded batch's rows are their single runs, bit for bit, under every
// built-in profile: each rounding acts on one element, and padding adds
// exact zeros (a hidden key's probability 0 rounds to 0).
TEST(ProfileReference, BatchRowsEqualTheirSingleRunsUnderEveryBuiltInProfile) {
  const uint64_t seed = test_seed(1609);
  const Config config = small_config();
  const Weights<float> stored = seeded_weights(config, seed);
  const std::vector<std::vector<int>> rows = {test_tokens(3, config.vocab_size),
                                              test_tokens(6, config.vocab_size),
                                              {5},
                                              test_tokens(4, config.vocab_size)};
  for (const Profile& p : builtin_profiles()) {
    const Weights<float> w = round_weights(stored, p);
    Options options;
    options.profile = &p;
    options.trace_level = TraceLevel::ops;
    for (Padding padding : {Padding::left, Padding::right}) {
      const auto batch = forward_batch<double>(w, rows, padding, options);
      ASSERT_EQ(batch.size(), rows.size());
      for (size_t r = 0; r < rows.size(); ++r)
        expect_identical_traces(
            batch[r], forward<double>(w, rows[r], options),
            p.name + ", " + padding_name(padding) + " padding, row " + std::to_string(r));
    }
  }
}

// (f) ---------------------------------------------------------------------------

// Under ggml-f16 the roundings dominate: double and double-double agree with
// 50 digits to a few f16 units on every tensor (a value within double's noise
// of an f16 rounding boundary may round the other way, one unit, and carry).
TEST(ProfileReference, FiftyDigitsAndDoubleAgreeToAFewF16UnitsUnderGgmlF16) {
  const uint64_t seed = test_seed(1610);
  const Config config = small_config();
  const Profile& p = find_profile("ggml-f16");
  const Weights<float> w = round_weights(seeded_weights(config, seed), p);
  const std::vector<int> tokens = test_tokens(config.n_ctx, config.vocab_size);
  const Trace<Real50> truth = run_under<Real50>(w, tokens, &p);
  const Trace<double> f64 = run_under<double>(w, tokens, &p);
  const Trace<DoubleDouble> dd = run_under<DoubleDouble>(w, tokens, &p);
  const double f16_unit = std::ldexp(1.0, -11);  // f16's unit roundoff
  const Trace<double> dd_as_double = convert_trace<double>(dd);
  for (const auto* other : {&f64, &dd_as_double}) {
    std::map<std::string, const std::vector<double>*> by_name;
    for_each_trace_tensor(*other, [&](const std::string& name, const std::vector<double>& t,
                                      const Shape&) { by_name[name] = &t; });
    double worst = 0;
    std::string worst_name;
    for_each_trace_tensor(
        truth, [&](const std::string& name, const std::vector<Real50>& t, const Shape&) {
          const double units =
              static_cast<double>(testing::scaled_difference(*by_name[name], t)) / f16_unit;
          EXPECT_LE(units, 4.0) << name;
          if (units >= worst) worst = units, worst_name = name;
        });
    std::printf("[ MEASURED ] %s against 50 digits under ggml-f16: worst %.3g f16 units (%s)\n",
                other == &f64 ? "double" : "double-double", worst, worst_name.c_str());
  }
}

}  // namespace
}  // namespace gpt2::reference
