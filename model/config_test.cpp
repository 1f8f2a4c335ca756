#include "model/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/error.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

const char* kTiny = R"({"n_layer":2,"n_head":2,"n_embd":16,"n_positions":32,"vocab_size":64,)"
                    R"("layer_norm_epsilon":1e-5,"activation_function":"gelu_new"})";

std::string error_of(const std::string& text) {
  try {
    config_from_json(text, "dir/config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

// Replaces `from` in kTiny by `to`.
std::string tiny_with(const std::string& from, const std::string& to) {
  std::string s = kTiny;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

TEST(Config, ParsesHuggingFaceConfig) {
  const Config c = config_from_json(kTiny, "config.json");
  EXPECT_EQ(c.n_layer, 2);
  EXPECT_EQ(c.n_head, 2);
  EXPECT_EQ(c.n_embd, 16);
  EXPECT_EQ(c.n_ctx, 32);
  EXPECT_EQ(c.vocab_size, 64);
  EXPECT_EQ(c.layer_norm_epsilon, 1e-5);
  EXPECT_EQ(c.head_size(), 8);
}

TEST(Config, RoundTripsThroughJson) {
  const Config c = config_from_json(kTiny, "config.json");
  EXPECT_EQ(config_from_json(config_to_json(c), "written"), c);
  EXPECT_EQ(config_to_json(c), config_to_json(config_from_json(config_to_json(c), "again")));
}

TEST(Config, AcceptsPytorchTanhAlias) {
  EXPECT_EQ(config_from_json(tiny_with("gelu_new", "gelu_pytorch_tanh"), "c").activation,
            "gelu_pytorch_tanh");
}

TEST(Config, ParameterCountOfGpt2SmallIs124M) {
  Config c{12, 12, 768, 1024, 50257, 1e-5, "gelu_new"};
  EXPECT_EQ(c.parameter_count(), 124439808);  // the published GPT-2 124M count
}

TEST(Config, RejectsEachBadValueWithTheFieldNamed) {
  EXPECT_THAT(error_of(tiny_with("\"n_layer\":2", "\"n_layer\":0")),
              HasSubstr("dir/config.json: \"n_layer\" must be a positive integer"));
  EXPECT_THAT(error_of(tiny_with("\"n_head\":2", "\"n_head\":3")),
              HasSubstr("n_embd (16) is not divisible by n_head (3)"));
  EXPECT_THAT(error_of(tiny_with("1e-5", "0")), HasSubstr("layer_norm_epsilon must be a positive"));
  EXPECT_THAT(error_of(tiny_with("1e-5", "-1e-5")), HasSubstr("layer_norm_epsilon"));
  EXPECT_THAT(error_of(tiny_with("1e-5", "1e999")), HasSubstr("number overflow parsing '1e999'"));
  EXPECT_THAT(error_of(tiny_with("gelu_new", "gelu")),
              HasSubstr("activation_function \"gelu\" is not supported"));
  EXPECT_THAT(error_of(tiny_with("\"n_embd\":16", "\"n_embd\":16.5")),
              HasSubstr("\"n_embd\" must be an integer"));
  EXPECT_THAT(error_of(tiny_with("\"vocab_size\":64,", "")),
              HasSubstr("missing key \"vocab_size\""));
  EXPECT_THAT(error_of(tiny_with("\"n_layer\":2", "\"n_layer\":2,\"n_layer\":3")),
              HasSubstr("duplicate key 'n_layer'"));
  EXPECT_THAT(error_of(tiny_with("\"n_layer\":2", "\"n_layer\":2,\"n_inner\":10")),
              HasSubstr("\"n_inner\" must be null or 4·n_embd"));
  EXPECT_THAT(error_of(tiny_with("\"n_layer\":2", "\"n_layer\":2,\"scale_attn_weights\":false")),
              HasSubstr("\"scale_attn_weights\" must be true"));
  EXPECT_THAT(error_of("[1]"), HasSubstr("expected a JSON object"));
  EXPECT_THAT(error_of("{\"n_layer\": 2,}"), HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of(""), HasSubstr("invalid JSON"));
}

TEST(Config, ValidateRejectsHandBuiltConfigs) {
  Config c{2, 2, 16, 32, 64, 1e-5, "gelu_new"};
  EXPECT_NO_THROW(c.validate());
  c.vocab_size = -1;
  EXPECT_THROW(c.validate(), InputError);
  c = Config{2, 2, 16, 32, 64, std::numeric_limits<double>::quiet_NaN(), "gelu_new"};
  EXPECT_THROW(c.validate(), InputError);
}

}  // namespace
}  // namespace gpt2
