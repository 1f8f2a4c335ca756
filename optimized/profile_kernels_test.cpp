// The kernel sets of the precision profiles (profile_kernels.h): each op does
// exactly the rounding its profile declares, at that point and nowhere else
// (against the `fast` kernels on the rounded operands, bit for bit: the
// products are fast's fma chains), in the single and the batch ops; and each
// set's whole model really differs from fast's, by about what its format's
// rounding explains.
#include "optimized/profile_kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "model/error.h"
#include "model/float_formats.h"
#include "model/profile.h"
#include "optimized/engine.h"
#include "optimized/gelu.h"
#include "optimized/gelu_table.h"
#include "optimized/model_test_support.h"
#include "optimized/trace_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::cross_order_tolerance;
using testing::describe;
using testing::max_scaled_difference;
using testing::random_tokens;
using testing::random_weights;

float round_f16(float v) { return stored_as(FloatFormat::f16, v); }
float round_bf16(float v) { return stored_as(FloatFormat::bf16, v); }

std::vector<float> rounded(std::vector<float> x, float (*round)(float)) {
  for (float& v : x) v = round(v);
  return x;
}

// Values of ±4 with every exponent of a GPT-2 activation and their bits
// drawn, so that f16 and bf16 rounding both change most of them.
std::vector<float> random_vector(size_t n, std::mt19937_64& rng, float scale = 4.0f) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// HS = 17 and 4C = 136 (SIMD tails), V over 3 panels.
Config op_config() { return make_config(2, 2, 34, 12, 40); }

// A batch of B rows of T columns, all real, each on its own cache from slot 0.
struct Batch {
  std::vector<BatchRow> rows;
  BatchPass pass;
  Batch(const Config& c, int B, int T) : rows(B) {
    for (BatchRow& row : rows) {
      row.slots = Pass{0, T, Mask::causal, false};
      row.count = T;
      row.real = row.slots;
    }
    pass = BatchPass{B, T, Mask::causal, false, true, 1, rows, c.n_embd, c.vocab_size};
  }
};

// The `fast` kernels on `weights` (float32 panels, as ProfileKernels packs them).
std::unique_ptr<Kernels> fast_on(const Weights<float>& weights, ThreadPool& pool) {
  return find_kernel("fast").create(weights, pool);
}

// ---- declarations ------------------------------------------------------------

TEST(ProfileSets, EachDeclaresItsBuiltInProfile) {
  const std::pair<const char*, const char*> declared[] = {{"fast", "f32"},
                                                          {"eigen", "f32"},
                                                          {"example", "f32"},
                                                          {"bf16", "bf16-weights"},
                                                          {"f16kv", "f16-kv"},
                                                          {"bf16-autocast", "bf16-autocast"},
                                                          {"f16-gelu-table", "f16-gelu-table"},
                                                          {"ggml-f16", "ggml-f16"}};
  for (const auto& [name, profile] : declared) {
    const KernelSet& set = find_kernel(name);
    EXPECT_EQ(set.profile, profile) << name;
    // Only the sets whose profile rounds inside the arithmetic are outside
    // the float32 rule; bf16's rounding is all in weights_used().
    const bool rounds_arithmetic = find_profile(profile).matmul_inputs != FloatFormat::f32 ||
                                   find_profile(profile).kv_cache != FloatFormat::f32 ||
                                   find_profile(profile).gelu != GeluForm::formula;
    EXPECT_EQ(set.float32_arithmetic(), !rounds_arithmetic) << name;
  }
  for (const char* name : {"f16kv", "bf16-autocast", "f16-gelu-table", "ggml-f16"}) {
    EXPECT_TRUE(find_kernel(name).batch_invariant) << name << ": as fast, whose kernels it runs";
    EXPECT_NE(find_kernel(name).description.find(find_kernel(name).profile), std::string::npos)
        << name << ": the description names the profile";
  }
}

// effective_weights is the profile's weight rounding: round_weights(w,
// profile), the matrices and embeddings only for bf16-autocast and ggml-f16
// (their LayerNorms and biases stay float32), nothing for f16kv and
// f16-gelu-table; bf16's own rounding is round_weights(w, bf16-weights).
TEST(ProfileSets, EffectiveWeightsAreTheProfilesWeightRounding) {
  const Weights<float> w = random_weights(op_config(), 3);
  for (const char* name : {"f16kv", "f16-gelu-table"})
    EXPECT_FALSE(find_kernel(name).effective_weights) << name;
  for (const char* name : {"bf16", "bf16-autocast", "ggml-f16"}) {
    const KernelSet& set = find_kernel(name);
    const Weights<float> used = set.weights_used(w);
    const Weights<float> expected = round_weights(w, find_profile(set.profile));
    SCOPED_TRACE(name);
    EXPECT_EQ(used.wte, expected.wte);
    EXPECT_EQ(used.wpe, expected.wpe);
    EXPECT_EQ(used.blocks[1].mlp_c_fc_weight, expected.blocks[1].mlp_c_fc_weight);
    EXPECT_EQ(used.blocks[1].ln_2_weight, expected.blocks[1].ln_2_weight);
    EXPECT_EQ(used.blocks[0].attn_c_attn_bias, expected.blocks[0].attn_c_attn_bias);
    EXPECT_EQ(used.ln_f_bias, expected.ln_f_bias);
    EXPECT_NE(used.wte, w.wte);
  }
  const Weights<float> autocast = find_kernel("bf16-autocast").weights_used(w);
  EXPECT_EQ(autocast.wpe, rounded(w.wpe, round_bf16));
  EXPECT_EQ(autocast.blocks[0].attn_c_proj_weight,
            rounded(w.blocks[0].attn_c_proj_weight, round_bf16));
  EXPECT_EQ(autocast.blocks[0].attn_c_proj_bias, w.blocks[0].attn_c_proj_bias);
  EXPECT_EQ(autocast.blocks[0].ln_1_weight, w.blocks[0].ln_1_weight);
  const Weights<float> ggml = find_kernel("ggml-f16").weights_used(w);
  EXPECT_EQ(ggml.wte, rounded(w.wte, round_f16));
  EXPECT_EQ(ggml.blocks[1].mlp_c_proj_weight, rounded(w.blocks[1].mlp_c_proj_weight, round_f16));
  EXPECT_EQ(ggml.blocks[1].mlp_c_proj_bias, w.blocks[1].mlp_c_proj_bias);
  EXPECT_EQ(ggml.ln_f_weight, w.ln_f_weight);
  const Weights<float> bf16 = find_kernel("bf16").weights_used(w);
  EXPECT_EQ(bf16.blocks[0].ln_1_bias, rounded(w.blocks[0].ln_1_bias, round_bf16));
}

KernelSet set_declaring(const std::string& profile, bool with_effective_weights) {
  KernelSet set{"test-profile-" + profile,
                "test",
                [](const Weights<float>& w, ThreadPool& pool) -> std::unique_ptr<Kernels> {
                  return std::make_unique<PanelKernels>(w, pool, WeightFormat::f32);
                },
                {}};
  if (with_effective_weights) set.effective_weights = [](const Weights<float>& w) { return w; };
  set.profile = profile;
  return set;
}

TEST(ProfileSets, RegistrationRefusesAnUnknownProfileOrUnroundedWeights) {
  EXPECT_THROW(register_kernel_set(set_declaring("f17", true)), InternalError);
  EXPECT_THROW(register_kernel_set(set_declaring("bf16-autocast", false)), InternalError);
  EXPECT_THROW(find_kernel("test-profile-f17"), InputError) << "nothing was registered";
  EXPECT_THROW(find_kernel("test-profile-bf16-autocast"), InputError);
}

// ---- f16kv: keys and values stored as f16 ----------------------------------------

TEST(F16Kv, WriteCacheStoresEveryKeyAndValueRoundedToF16) {
  const Config c = op_config();
  const int C = c.n_embd, NH = c.n_head, HS = c.head_size(), T = 5, pos0 = 3;
  const Weights<float> w = random_weights(c, 7);
  ThreadPool pool(2);
  const auto k = find_kernel("f16kv").create(w, pool);
  std::mt19937_64 rng(7);
  auto qkv = random_vector(size_t(T) * 3 * C, rng);
  qkv[C] = 1e-7f;               // an f16 subnormal
  qkv[C + 1] = 1.0009765625f;   // 1 + 2^-10: exactly f16
  qkv[2 * C] = 1.00048828125f;  // 1 + 2^-11: a tie, to even (1)
  KvCache cache(c);
  const Pass pass{pos0, T, Mask::causal, false};
  k->write_cache(pass, 1, qkv.data(), cache);
  int changed = 0;
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < NH; ++h)
      for (int d = 0; d < HS; ++d) {
        const float key = qkv[size_t(t) * 3 * C + C + h * HS + d];
        const float value = qkv[size_t(t) * 3 * C + 2 * C + h * HS + d];
        const float stored_key = cache.key(1, h, pos0 + t)[d];
        const float stored_value = cache.value(1, h, pos0 + t)[d];
        EXPECT_EQ(stored_key, round_f16(key)) << t << " " << h << " " << d;
        EXPECT_EQ(stored_value, round_f16(value)) << t << " " << h << " " << d;
        EXPECT_EQ(round_f16(stored_key), stored_key) << "an f16 value";
        changed += (stored_key != key) + (stored_value != value);
      }
  EXPECT_EQ(cache.key(1, 0, pos0)[1], 1.0009765625f);
  EXPECT_EQ(cache.value(1, 0, pos0)[0], 1.0f);
  EXPECT_GT(changed, T * C) << "most random floats are not f16 values";
  EXPECT_EQ(cache.key(0, 0, pos0)[0], 0.0f) << "only block 1 written";

  // The batch path, row by row into each row's cache: the same values.
  Batch batch(c, 3, T);
  auto rows_qkv = random_vector(size_t(3) * T * 3 * C, rng);
  std::vector<KvCache> caches;
  for (int b = 0; b < 3; ++b) caches.emplace_back(c);
  k->write_cache_batch(batch.pass, 0, rows_qkv.data(), caches);
  for (int b = 0; b < 3; ++b)
    for (int t = 0; t < T; ++t)
      for (int h = 0; h < NH; ++h)
        for (int d = 0; d < HS; ++d) {
          const size_t row = (size_t(b) * T + t) * 3 * C;
          EXPECT_EQ(caches[b].key(0, h, t)[d], round_f16(rows_qkv[row + C + h * HS + d]));
          EXPECT_EQ(caches[b].value(0, h, t)[d], round_f16(rows_qkv[row + 2 * C + h * HS + d]));
        }
}

// Only the cache: the projections are fast's, unrounded.
TEST(F16Kv, ProjectionsAreFastsUnrounded) {
  const Config c = op_config();
  const Weights<float> w = random_weights(c, 8);
  ThreadPool pool(2);
  const auto k = find_kernel("f16kv").create(w, pool);
  const auto fast = fast_on(w, pool);
  std::mt19937_64 rng(8);
  const int T = 4;
  const auto x = random_vector(size_t(T) * c.n_embd, rng);
  std::vector<float> a(size_t(T) * 3 * c.n_embd), b(a.size());
  const Pass pass{0, T, Mask::causal, false};
  k->project(pass, 0, Projection::qkv, x.data(), a.data(), false);
  fast->project(pass, 0, Projection::qkv, x.data(), b.data(), false);
  EXPECT_EQ(a, b);
}

// ---- bf16-autocast and ggml-f16: matmul inputs rounded --------------------------

struct InputRounding {
  const char* set;
  float (*round)(float);
};

class MatmulInputs : public ::testing::TestWithParam<InputRounding> {};

INSTANTIATE_TEST_SUITE_P(Profiles, MatmulInputs,
                         ::testing::Values(InputRounding{"bf16-autocast", round_bf16},
                                           InputRounding{"ggml-f16", round_f16}),
                         [](const auto& info) {
                           return std::string(info.param.set == std::string("ggml-f16")
                                                  ? "ggml_f16"
                                                  : "bf16_autocast");
                         });

// Every projection, the fc+GELU product and the logits equal fast's on the
// set's rounded weights with the activation operand rounded first, bit for
// bit, in a pass and in a batch; the residual that project accumulates into
// is not rounded; the output of a projection is float32, not rounded.
TEST_P(MatmulInputs, EveryProductIsFastsOnTheRoundedInput) {
  const auto [name, round] = GetParam();
  const Config c = op_config();
  const int C = c.n_embd, V = c.vocab_size;
  const Weights<float> w = random_weights(c, 11);
  const KernelSet& set = find_kernel(name);
  ThreadPool pool(2);
  const auto k = set.create(w, pool);
  const auto fast = fast_on(set.weights_used(w), pool);
  const bool table = find_profile(set.profile).gelu == GeluForm::table_f16;
  std::mt19937_64 rng(11);
  for (int T : {1, 3, 7}) {
    SCOPED_TRACE(::testing::Message() << name << " T=" << T);
    const Pass pass{0, T, Mask::causal, false};
    Batch batch(c, 2, T);
    for (int p = 0; p < 4; ++p) {
      const auto proj = static_cast<Projection>(p);
      const size_t in = projection_in(c, proj), out = projection_out(c, proj);
      for (int rows : {T, 2 * T}) {  // the pass, then the batch of 2
        const auto x = random_vector(rows * in, rng);
        const auto xr = rounded(x, round);
        for (bool accumulate : {false, true}) {
          const auto y0 = random_vector(rows * out, rng);
          std::vector<float> a = y0, b = y0, unrounded = y0;
          if (rows == T) {
            k->project(pass, 1, proj, x.data(), a.data(), accumulate);
            fast->project(pass, 1, proj, xr.data(), b.data(), accumulate);
            fast->project(pass, 1, proj, x.data(), unrounded.data(), accumulate);
          } else {
            k->project_batch(batch.pass, 1, proj, x.data(), a.data(), accumulate);
            fast->project_batch(batch.pass, 1, proj, xr.data(), b.data(), accumulate);
            fast->project_batch(batch.pass, 1, proj, x.data(), unrounded.data(), accumulate);
          }
          EXPECT_EQ(a, b) << "projection " << p << " rows " << rows << " accumulate " << accumulate;
          EXPECT_NE(a, unrounded) << "the input was rounded";
          EXPECT_NE(a, rounded(a, round)) << "the output is not";
        }
      }
    }
    // fc + GELU: the formula fused as in fast (bf16-autocast), or the table
    // after fast's product (ggml-f16).
    for (int rows : {T, 2 * T}) {
      const auto x = random_vector(rows * C, rng);
      const auto xr = rounded(x, round);
      std::vector<float> a(rows * 4 * C), b(a.size());
      if (rows == T) {
        k->project_gelu(pass, 0, x.data(), a.data());
      } else {
        k->project_gelu_batch(batch.pass, 0, x.data(), a.data());
      }
      if (table) {
        if (rows == T) {
          fast->project(pass, 0, Projection::fc, xr.data(), b.data(), false);
        } else {
          fast->project_batch(batch.pass, 0, Projection::fc, xr.data(), b.data(), false);
        }
        gelu_f16_table_array(b.data(), b.size());
      } else if (rows == T) {
        fast->project_gelu(pass, 0, xr.data(), b.data());
      } else {
        fast->project_gelu_batch(batch.pass, 0, xr.data(), b.data());
      }
      EXPECT_EQ(a, b) << "project_gelu rows " << rows;
    }
    // The lm_head.
    for (int rows : {T, 2 * T}) {
      const auto x = random_vector(rows * C, rng);
      const auto xr = rounded(x, round);
      std::vector<float> a(rows * V), b(a.size());
      if (rows == T) {
        k->logits(pass, x.data(), T, a.data());
        fast->logits(pass, xr.data(), T, b.data());
      } else {
        k->logits_batch(batch.pass, x.data(), a.data());
        fast->logits_batch(batch.pass, xr.data(), b.data());
      }
      EXPECT_EQ(a, b) << "logits rows " << rows;
    }
    // The embedding and the cache: fast's on the rounded weights, not rounded again.
    const auto tokens = random_tokens(T, V, 11);
    std::vector<float> a(size_t(T) * C), b(a.size());
    k->embed(pass, tokens.data(), a.data());
    fast->embed(pass, tokens.data(), b.data());
    EXPECT_EQ(a, b) << "embed";
    const auto qkv = random_vector(size_t(T) * 3 * C, rng);
    KvCache cache(c);
    k->write_cache(pass, 0, qkv.data(), cache);
    EXPECT_EQ(cache.key(0, 1, 0)[2], qkv[C + c.head_size() + 2]) << "keys are not rounded";
  }
}

// ggml-f16's mlp_proj input is the GELU output rounded to f16: the table's
// outputs are f16 already, the pass-through at u >= 10 is not.
TEST(GgmlF16, TheGeluPassThroughIsRoundedAsMlpProjsInput) {
  const Config c = op_config();
  const Weights<float> w = random_weights(c, 12);
  ThreadPool pool(1);
  const auto k = find_kernel("ggml-f16").create(w, pool);
  const auto fast = fast_on(find_kernel("ggml-f16").weights_used(w), pool);
  std::vector<float> f(4 * c.n_embd, 0.0f);
  f[0] = 12.345f;  // a pass-through value, not an f16 value
  f[1] = gelu_f16_table_clamped(0.7f);
  const Pass pass{0, 1, Mask::causal, false};
  std::vector<float> a(c.n_embd, 0.0f), b(a.size(), 0.0f);
  k->project(pass, 0, Projection::mlp_proj, f.data(), a.data(), false);
  ASSERT_NE(round_f16(12.345f), 12.345f);
  f[0] = round_f16(12.345f);
  fast->project(pass, 0, Projection::mlp_proj, f.data(), b.data(), false);
  EXPECT_EQ(a, b);
}

// ---- the f16 GELU table --------------------------------------------------------

// Each of the 65536 entries is the f16 of the float32 formula at its input.
// Against GPT-2's formula in double: within half an f16 unit (the entry's own
// rounding) plus the float32 formula's error, at most 1.8 units of
// max(ulp, 2^-25·|x|) (gelu_test.cpp measures it). That second term is the
// larger one for x below about -4, where 1 + tanh(·) cancels in float32: the
// entries there (|gelu| < 1e-4) are the float32 formula's, several f16
// subnormal units from the exact GELU, as in ggml's own table. Elsewhere
// almost every entry is the f16 nearest the exact GELU.
TEST(GeluTable, EntriesAreTheF16OfTheFloat32Formula) {
  const auto& table = gelu_f16_table();
  int checked = 0, nearest = 0;
  double worst_units = 0, worst_x = 0;  // |entry - exact| in f16 units at exact
  for (uint32_t h = 0; h < 65536; ++h) {
    const float x = f16_to_f32(static_cast<uint16_t>(h));
    const uint16_t entry = table[h];
    EXPECT_EQ(entry, f32_to_f16(gelu_tanh_f32(x))) << "h=" << h;
    if (!std::isfinite(x) || std::fabs(x) >= 10) continue;
    const double xd = x;
    const double exact =
        0.5 * xd * (1 + std::tanh(std::sqrt(2 / M_PI) * (xd + 0.044715 * xd * xd * xd)));
    const double value = f16_to_f32(entry);
    // One f16 unit at `exact` (2^-24, the subnormal spacing, below 2^-14),
    // and one float32 unit.
    const int e = std::ilogb(std::max(std::fabs(exact), 1e-30));
    const double f16_unit = std::ldexp(1.0, std::max(e, -14) - 10);
    const double f32_unit = std::ldexp(1.0, std::max(e, -126) - 23);
    const double formula_error = 1.8 * std::max(f32_unit, std::ldexp(std::fabs(xd), -25));
    EXPECT_LE(std::fabs(value - exact), f16_unit / 2 + formula_error) << "x=" << x;
    if (std::fabs(value - exact) / f16_unit > worst_units)
      worst_units = std::fabs(value - exact) / f16_unit, worst_x = x;
    if (x >= -4) nearest += value == round_f16(static_cast<float>(exact)), ++checked;
  }
  EXPECT_GE(nearest, checked - checked / 100) << "almost every entry from -4 is the nearest f16";
  std::printf(
      "gelu table: %d of %d entries in [-4, 10) the f16 nearest GPT-2's GELU; worst %.2f f16 "
      "units from it at x = %.8g\n",
      nearest, checked, worst_units, worst_x);
}

TEST(GeluTable, ClampsAtTenAndLooksUpInBetween) {
  EXPECT_EQ(gelu_f16_table_clamped(-10.0f), 0.0f);
  EXPECT_EQ(gelu_f16_table_clamped(-10.5f), 0.0f);
  EXPECT_EQ(gelu_f16_table_clamped(-1e30f), 0.0f);
  EXPECT_EQ(gelu_f16_table_clamped(10.0f), 10.0f);
  EXPECT_EQ(gelu_f16_table_clamped(12.345f), 12.345f) << "unrounded at and above 10";
  EXPECT_EQ(gelu_f16_table_clamped(1e30f), 1e30f);
  // Just inside: the table, on the rounded input.
  EXPECT_EQ(gelu_f16_table_clamped(9.99f), f16_to_f32(gelu_f16_table()[f32_to_f16(9.99f)]));
  EXPECT_EQ(gelu_f16_table_clamped(9.99f), round_f16(9.99f));
  EXPECT_LE(std::fabs(gelu_f16_table_clamped(-9.99f)), 1e-6f);
  // Without the clamps, the lookup rounds the input at 10 and beyond.
  EXPECT_EQ(gelu_f16_table_lookup(12.345f), round_f16(12.345f));
  // Below -10 the float32 formula is already ±0 (1 + tanh cancels
  // exactly): there the clamp changes only the sign of zero.
  EXPECT_EQ(gelu_f16_table_lookup(-10.5f), 0.0f);
  EXPECT_EQ(gelu_f16_table_lookup(-1000.0f), 0.0f);
  EXPECT_EQ(gelu_f16_table_lookup(1.5f), gelu_f16_table_clamped(1.5f));
  // The array form is the scalar one, element by element.
  std::vector<float> x = {-11, -10, -9.99f, -1, 0, 0.3f, 1, 9.99f, 10, 11.5f};
  std::vector<float> y = x;
  gelu_f16_table_array(y.data(), y.size());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], gelu_f16_table_clamped(x[i])) << x[i];
}

// The set's GELU is the table, in gelu(), project_gelu and its batch form;
// every other op is fast's.
TEST(F16GeluTable, GeluAndTheFusedProductUseTheTable) {
  const Config c = op_config();
  const int C = c.n_embd;
  const Weights<float> w = random_weights(c, 13);
  ThreadPool pool(2);
  const auto k = find_kernel("f16-gelu-table").create(w, pool);
  const auto fast = fast_on(w, pool);
  std::mt19937_64 rng(13);
  auto u = random_vector(1000, rng, 12.0f);
  auto expected = u;
  for (float& v : expected) v = gelu_f16_table_clamped(v);
  k->gelu(u.data(), u.size());
  EXPECT_EQ(u, expected);
  int differ = 0;
  for (int T : {1, 5}) {
    const Pass pass{0, T, Mask::causal, false};
    Batch batch(c, 3, T);
    for (int rows : {T, 3 * T}) {
      const auto x = random_vector(rows * C, rng);
      std::vector<float> a(rows * 4 * C), b(a.size()), formula(a.size());
      if (rows == T) {
        k->project_gelu(pass, 1, x.data(), a.data());
        fast->project(pass, 1, Projection::fc, x.data(), b.data(), false);
        fast->project_gelu(pass, 1, x.data(), formula.data());
      } else {
        k->project_gelu_batch(batch.pass, 1, x.data(), a.data());
        fast->project_batch(batch.pass, 1, Projection::fc, x.data(), b.data(), false);
        fast->project_gelu_batch(batch.pass, 1, x.data(), formula.data());
      }
      gelu_f16_table_array(b.data(), b.size());
      EXPECT_EQ(a, b) << "T=" << T << " rows=" << rows;
      for (size_t i = 0; i < a.size(); ++i) differ += a[i] != formula[i];
      // The other projections are fast's.
      std::vector<float> p(rows * 3 * C), q(p.size());
      if (rows == T) {
        k->project(pass, 0, Projection::qkv, x.data(), p.data(), false);
        fast->project(pass, 0, Projection::qkv, x.data(), q.data(), false);
      } else {
        k->project_batch(batch.pass, 0, Projection::qkv, x.data(), p.data(), false);
        fast->project_batch(batch.pass, 0, Projection::qkv, x.data(), q.data(), false);
      }
      EXPECT_EQ(p, q);
    }
  }
  EXPECT_GT(differ, 0) << "the table differs from the formula";
}

// ---- whole models --------------------------------------------------------------

// Each set's trace differs from fast's on the same weights (it rounds), by at
// most what its roundings explain. A rounding to a format of unit roundoff u
// perturbs an operand by at most u relative, so a product by at most 2u of
// Σ|x·w| (input and weight) and a cache read by u; a LayerNorm amplifies a
// relative error of its input by up to sqrt(C) (trace_test_support.h); a
// block chains four products, and the lm_head is one more: at most
// (L + 1)·4·2u·sqrt(C) of each tensor's scale, plus the cross-order bound.
// The GELU table is within one f16 unit of the formula: the same bound with
// u = 2^-11 covers it.
TEST(ProfileSets, WholeModelDiffersFromFastByAboutItsFormatsRounding) {
  const std::pair<const char*, double> sets[] = {{"f16kv", 0x1p-11},
                                                 {"bf16-autocast", 0x1p-8},
                                                 {"f16-gelu-table", 0x1p-11},
                                                 {"ggml-f16", 0x1p-11}};
  for (const Config& config : {make_config(2, 2, 16, 9, 23), make_config(2, 4, 48, 17, 50)}) {
    const Weights<float> w = random_weights(config, 17);
    const auto tokens = random_tokens(config.n_ctx, config.vocab_size, 17);
    const auto fast = run_trace(w, tokens, "fast", Mode::full, 0, Mask::causal, 2);
    for (const auto& [name, u] : sets) {
      SCOPED_TRACE(::testing::Message() << name << " " << describe(config));
      const auto trace = run_trace(w, tokens, name, Mode::full, 0, Mask::causal, 2);
      const auto diff = max_scaled_difference(trace, fast);
      const double bound = (config.n_layer + 1) * 4 * 2 * u * std::sqrt(double(config.n_embd)) +
                           cross_order_tolerance(config);
      EXPECT_NE(trace.logits, fast.logits) << "it rounds";
      EXPECT_GT(diff.error, 0);
      EXPECT_LE(diff.error, bound) << "worst at " << diff.tensor << " position " << diff.position;
      std::printf("%-15s %s: differs from fast by %.3g of the scale (%.3g of the bound), at %s\n",
                  name, describe(config).c_str(), diff.error, diff.error / bound,
                  diff.tensor.c_str());
    }
  }
}

}  // namespace
}  // namespace gpt2::optimized
