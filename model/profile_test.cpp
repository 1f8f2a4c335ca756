#include "model/profile.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/checkpoint.h"
#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

std::string parse_error(const std::string& text) {
  try {
    profile_from_json(text, "p.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Profile, BuiltInsAreTheIssuesSixWithF32First) {
  std::vector<std::string> names;
  for (const Profile& p : builtin_profiles()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"f32", "bf16-weights", "f16-kv", "bf16-autocast",
                                             "f16-gelu-table", "ggml-f16"}));
  EXPECT_TRUE(find_profile("f32").is_f32());
  const Profile& ggml = find_profile("ggml-f16");
  EXPECT_EQ(ggml.weights, FloatFormat::f16);
  EXPECT_EQ(ggml.matmul_inputs, FloatFormat::f16);
  EXPECT_EQ(ggml.gelu, GeluForm::table_f16);
  EXPECT_EQ(ggml.kv_cache, FloatFormat::f32);
  EXPECT_EQ(find_profile("bf16-weights").norms_and_biases, FloatFormat::bf16);
  EXPECT_THAT(find_profile("f16-kv").description, HasSubstr("KV cache f16"));
  try {
    find_profile("fp8");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown profile 'fp8' (known: f32, bf16-weights"));
  }
}

TEST(Profile, JsonRoundTripsAndDefaultsToFloat32) {
  const Profile p =
      profile_from_json(R"({"name": "mine", "kv_cache": "bf16", "gelu": "table_f16"})", "p.json");
  EXPECT_EQ(p.name, "mine");
  EXPECT_EQ(p.kv_cache, FloatFormat::bf16);
  EXPECT_EQ(p.gelu, GeluForm::table_f16);
  EXPECT_EQ(p.weights, FloatFormat::f32);
  EXPECT_EQ(p.description, "KV cache bf16, GELU f16 table");
  EXPECT_EQ(profile_from_json(profile_to_json(p), "again.json"), p);
  for (const Profile& b : builtin_profiles())
    EXPECT_EQ(profile_from_json(profile_to_json(b), b.name), b) << b.name;
}

TEST(Profile, JsonIsStrict) {
  EXPECT_THAT(parse_error("[1]"), HasSubstr("p.json: expected a JSON object"));
  EXPECT_THAT(parse_error(R"({"kv_cache": "f16"})"), HasSubstr("missing key \"name\""));
  EXPECT_THAT(parse_error(R"({"name": "a", "kv": "f16"})"), HasSubstr("unknown key 'kv'"));
  EXPECT_THAT(
      parse_error(R"({"name": "a", "kv_cache": "fp16"})"),
      HasSubstr("p.json: \"kv_cache\": expected \"f32\", \"bf16\" or \"f16\", found 'fp16'"));
  EXPECT_THAT(parse_error(R"({"name": "a", "gelu": "erf"})"), HasSubstr("\"gelu\": expected"));
  EXPECT_THAT(parse_error(R"({"name": "a b"})"), HasSubstr("non-empty word"));
  EXPECT_THAT(parse_error(R"({"name": "a", "name": "b"})"), HasSubstr("duplicate key"));
  EXPECT_THAT(parse_error(R"({"name": 3})"), HasSubstr("\"name\""));
  EXPECT_THAT(parse_error("{\"name\": \"a\", \"weights\": \"f16\""), HasSubstr("invalid JSON"));
}

// Each tensor is rounded by its own point (and only by it), once: every value
// becomes the nearest value of the point's format, and a point at f32 leaves
// its tensors bit for bit.
TEST(Profile, RoundWeightsRoundsEachTensorAtItsOwnPointOnce) {
  const Weights<float> w = seeded_weights(make_config(2, 2, 8, 5, 11), 16);
  for (FloatFormat weights : {FloatFormat::f32, FloatFormat::bf16, FloatFormat::f16})
    for (FloatFormat norms : {FloatFormat::f32, FloatFormat::bf16, FloatFormat::f16}) {
      Profile p;
      p.name = "test";
      p.weights = weights;
      p.norms_and_biases = norms;
      const Weights<float> r = round_weights(w, p);
      std::vector<const std::vector<float>*> before;
      for_each_tensor(w, [&](const std::string&, const std::vector<float>& t, const Shape&) {
        before.push_back(&t);
      });
      size_t i = 0, changed = 0;
      for_each_tensor(r, [&](const std::string& name, const std::vector<float>& t, const Shape&) {
        const std::vector<float>& original = *before[i++];
        const bool is_norm_or_bias =
            name.find("ln_") != std::string::npos || name.ends_with(".bias");
        const FloatFormat format = is_norm_or_bias ? norms : weights;
        ASSERT_EQ(t.size(), original.size()) << name;
        for (size_t k = 0; k < t.size(); ++k) {
          ASSERT_EQ(t[k], round_to(format, original[k])) << name << "[" << k << "]";
          changed += t[k] != original[k];
        }
      });
      EXPECT_EQ(changed == 0, weights == FloatFormat::f32 && norms == FloatFormat::f32)
          << float_format_name(weights) << " " << float_format_name(norms);
      EXPECT_EQ(round_weights(r, p).wte, r.wte) << "rounding twice is rounding once";
    }
}

}  // namespace
}  // namespace gpt2
