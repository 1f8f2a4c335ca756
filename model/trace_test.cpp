#include "model/trace.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "model/error.h"
#include "model/safetensors.h"

namespace gpt2 {
namespace {

using ::testing::HasSubstr;

Trace<double> sample_trace(TraceLevel level = TraceLevel::blocks) {
  Config c{3, 1, 2, 8, 5, 1e-5, "gelu_new"};
  Trace<double> t = make_trace<double>(c, 4, level);
  double x = 0.1;
  for_each_trace_tensor(t, [&](const std::string&, std::vector<double>& v, const Shape&) {
    for (double& e : v) e = (x *= 1.37) - 0.5;  // not representable in float
  });
  return t;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          (name + "_" + std::to_string(::getpid()) + ".safetensors"))
      .string();
}

TEST(Trace, F64RoundTripIsBitIdentical) {
  const Trace<double> t = sample_trace();
  const std::string path = temp_path("trace_f64");
  write_trace(path, t, TraceDtype::F64, {{"tokens", "1,2,3,4"}});
  const Trace<double> r = read_trace(path);
  EXPECT_EQ(r.n_layer(), 3);
  EXPECT_EQ(r.embed, t.embed);
  EXPECT_EQ(r.block, t.block);
  EXPECT_EQ(r.ln_f, t.ln_f);
  EXPECT_EQ(r.logits, t.logits);
  EXPECT_EQ(SafetensorsFile::read(path).metadata().at("tokens"), "1,2,3,4");
  std::filesystem::remove(path);
}

TEST(Trace, F32RoundTripRoundsToFloat) {
  const Trace<double> t = sample_trace();
  const std::string path = temp_path("trace_f32");
  write_trace(path, t, TraceDtype::F32);
  const Trace<double> r = read_trace(path);
  for (size_t i = 0; i < t.logits.size(); ++i) EXPECT_EQ(r.logits[i], double(float(t.logits[i])));
  std::filesystem::remove(path);
}

TEST(Trace, ReadingRejectsMissingAndMisshapenTensors) {
  const std::string path = temp_path("trace_bad");
  std::vector<double> two(2, 0.0);
  write_safetensors(path, {{"embed", Dtype::F64, {1, 2}, two.data(), nullptr}});
  try {
    read_trace(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing tensor 'logits'"));
  }
  write_safetensors(path, {{"embed", Dtype::F64, {1, 2}, two.data(), nullptr},
                           {"ln_f", Dtype::F64, {2, 1}, two.data(), nullptr},
                           {"logits", Dtype::F64, {1, 2}, two.data(), nullptr}});
  try {
    read_trace(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("tensor 'ln_f' has the wrong shape"));
  }
  std::filesystem::remove(path);
}

TEST(Trace, OpLevelRoundTripKeepsEveryOpTensorInForwardOrder) {
  const Trace<double> t = sample_trace(TraceLevel::ops);
  const std::string path = temp_path("trace_ops");
  write_trace(path, t, TraceDtype::F64);
  const Trace<double> r = read_trace(path);
  ASSERT_EQ(r.level(), TraceLevel::ops);
  ASSERT_EQ(r.ops.size(), 3u);
  EXPECT_EQ(r.ops[2].gelu, t.ops[2].gelu);
  EXPECT_EQ(r.ops[1].qkv.size(), 4u * 3 * 2);
  EXPECT_EQ(r.block, t.block);
  std::vector<std::string> visited;
  for_each_trace_tensor(r, [&](const std::string& name, const std::vector<double>&, const Shape&) {
    visited.push_back(name);
  });
  EXPECT_EQ(visited, trace_tensor_names(3, TraceLevel::ops));
  EXPECT_EQ(visited[1], "block.0.ln_1");
  EXPECT_EQ(visited[7], "block.0");
  std::filesystem::remove(path);
}

TEST(Trace, TensorNamesParseBackAndRejectOthers) {
  for (const TensorId& id : trace_tensor_ids(4, TraceLevel::ops))
    EXPECT_EQ(parse_tensor_name(id.name(), 4), id) << id.name();
  for (const char* bad : {"block.4", "block.0.ln_3", "block.-1", "block.01", "blocks.0", "",
                          "logits ", "block.0.gelu.x"})
    EXPECT_FALSE(parse_tensor_name(bad, 4).has_value()) << bad;
  EXPECT_EQ(trace_tensor_names(1, TraceLevel::blocks),
            (std::vector<std::string>{"embed", "block.0", "ln_f", "logits"}));
}

TEST(Trace, AnOpTraceMissingOneOpTensorIsRejected) {
  Trace<double> t = sample_trace(TraceLevel::ops);
  const std::string path = temp_path("trace_ops_partial");
  std::vector<TensorToWrite> tensors;
  for_each_trace_tensor(
      t, [&](const std::string& name, const std::vector<double>& v, const Shape& shape) {
        if (name != "block.1.attn") tensors.push_back({name, Dtype::F64, shape, v.data(), nullptr});
      });
  write_safetensors(path, tensors);
  try {
    read_trace(path);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing tensor 'block.1.attn'"));
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace gpt2
