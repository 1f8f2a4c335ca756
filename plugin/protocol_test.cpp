// The protocol between gpt2-oracle and a plugin's child: every message round
// trips, and the parent's decoders refuse what the protocol does not allow.
#include "plugin/protocol.h"

#include <gtest/gtest.h>

#include "model/checkpoint.h"

namespace gpt2::plugin {
namespace {

TEST(PluginProtocol, FrameHeaderRoundTrips) {
  const std::string frame = encode_frame(MessageKind::result, "abc");
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 3);
  const FrameHeader h = decode_frame_header(frame.data(), 100);
  EXPECT_EQ(h.kind, MessageKind::result);
  EXPECT_EQ(h.size, 3u);
}

TEST(PluginProtocol, FrameHeaderRefusesBadMagicUnknownKindAndOversize) {
  std::string frame = encode_frame(MessageKind::loaded, std::string(10, 'x'));
  EXPECT_THROW(decode_frame_header(frame.data(), 9), ProtocolError);  // 10 bytes > 9
  std::string bad_magic = frame;
  bad_magic[0] ^= 1;
  EXPECT_THROW(decode_frame_header(bad_magic.data(), 100), ProtocolError);
  std::string bad_kind = frame;
  bad_kind[4] = 77;
  EXPECT_THROW(decode_frame_header(bad_kind.data(), 100), ProtocolError);
}

TEST(PluginProtocol, ListingRoundTripsAndRefusesBadNames) {
  PluginListing l{1, {{"naive-c", "textbook loops"}, {"other_1.2+x", ""}}};
  const PluginListing back = decode_listing(encode_listing(l));
  ASSERT_EQ(back.sets.size(), 2u);
  EXPECT_EQ(back.sets[0].name, "naive-c");
  EXPECT_EQ(back.sets[1].description, "");
  for (const std::string& bad : {std::string(""), std::string("a b"), std::string("x/y"),
                                 std::string(65, 'a'), std::string("tab\t")}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(decode_listing(encode_listing({1, {{bad, ""}}})), ProtocolError);
  }
  EXPECT_THROW(decode_listing(encode_listing({1, {{"a", "two\nlines"}}})), ProtocolError);
  EXPECT_THROW(decode_listing(encode_listing({1, {{"a", ""}, {"a", ""}}})), ProtocolError)
      << "a name listed twice";
  EXPECT_THROW(decode_listing(encode_listing({1, {}})), ProtocolError) << "no set";
  std::string cut = encode_listing(l);
  cut.pop_back();
  EXPECT_THROW(decode_listing(cut), ProtocolError);
  EXPECT_THROW(decode_listing(encode_listing(l) + "x"), ProtocolError) << "bytes left over";
}

TEST(PluginProtocol, RefusalRoundTripsAndRefusesUnknownReasons) {
  const RefusedReply r = decode_refused(encode_refused({Refusal::abi_version, "version 2"}));
  EXPECT_EQ(r.reason, Refusal::abi_version);
  EXPECT_EQ(r.message, "version 2");
  PayloadWriter w;
  w.u32(9);
  w.text("x");
  EXPECT_THROW(decode_refused(w.bytes()), ProtocolError);
}

TEST(PluginProtocol, CreateCarriesTheWeightsExactly) {
  const Weights<float> w = preset_weights("tiny");
  uint32_t index = 7;
  const Weights<float> back = decode_create(encode_create(3, w), index);
  EXPECT_EQ(index, 3u);
  EXPECT_EQ(back.config, w.config);
  EXPECT_EQ(back.wte, w.wte);
  EXPECT_EQ(back.blocks.back().mlp_c_proj_bias, w.blocks.back().mlp_c_proj_bias);
  EXPECT_EQ(back.ln_f_bias, w.ln_f_bias);
}

TEST(PluginProtocol, CallRoundTripsAndTheChildChecksItAgainstTheModel) {
  const Config c = preset_weights("tiny").config;
  CallRequest call;
  call.op = Op::project;
  call.layer = 1;
  call.which = 3;  // mlp_proj: [4C, C]
  call.accumulate = 1;
  call.pos0 = 2;
  call.n_tokens = 3;
  call.input.assign(size_t(3) * 4 * c.n_embd, 0.5f);
  call.output.assign(size_t(3) * c.n_embd, 0.25f);
  const CallRequest back = decode_call(encode_call(call), c);
  EXPECT_EQ(back.op, Op::project);
  EXPECT_EQ(back.input, call.input);
  EXPECT_EQ(back.output, call.output);
  EXPECT_EQ(result_count(back, c), uint64_t(3) * c.n_embd);

  CallRequest outside = call;
  outside.layer = c.n_layer;
  EXPECT_THROW(decode_call(encode_call(outside), c), ProtocolError);
  CallRequest beyond = call;
  beyond.pos0 = c.n_ctx - 1;  // 3 tokens from the last position
  EXPECT_THROW(decode_call(encode_call(beyond), c), ProtocolError);
  CallRequest short_input = call;
  short_input.input.pop_back();
  EXPECT_THROW(decode_call(encode_call(short_input), c), ProtocolError);
}

TEST(PluginProtocol, ResultMustHoldExactlyTheExpectedFloats) {
  const std::vector<float> v = {1, 2, 3};
  EXPECT_EQ(decode_result(encode_result(v), 3), v);
  EXPECT_THROW(decode_result(encode_result(v), 4), ProtocolError);
  EXPECT_THROW(decode_result(encode_result(v), 2), ProtocolError);
  PayloadWriter lying;  // claims a billion floats, holds none
  lying.u64(1'000'000'000);
  EXPECT_THROW(decode_result(lying.bytes(), 1'000'000'000), ProtocolError);
}

}  // namespace
}  // namespace gpt2::plugin
