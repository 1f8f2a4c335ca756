#include "model/float_formats.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "model/init.h"

namespace gpt2 {
namespace {

// Every float through the bit-level conversions and through round_to agrees:
// a dense sweep of the float line (every 97th bit pattern, both signs).
TEST(FloatFormats, RoundToAgreesWithTheBitLevelConversionsAcrossTheFloatLine) {
  for (uint64_t b = 0; b <= 0xffffffffull; b += 97) {
    const float x = std::bit_cast<float>(static_cast<uint32_t>(b));
    if (std::isnan(x)) continue;
    const float via_bits = bf16_to_f32(f32_to_bf16(x));
    const float via_round = round_to(FloatFormat::bf16, x);
    ASSERT_EQ(std::bit_cast<uint32_t>(via_bits), std::bit_cast<uint32_t>(via_round)) << x;
    const float half = f16_to_f32(f32_to_f16(x));
    ASSERT_EQ(std::bit_cast<uint32_t>(half), std::bit_cast<uint32_t>(round_to(FloatFormat::f16, x)))
        << x;
  }
}

TEST(FloatFormats, HalfRoundsToNearestTiesToEvenWithSubnormalsAndOverflow) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);  // below largest + ulp/2
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // a tie to the even: Inf
  EXPECT_EQ(f32_to_f16(-1e6f), 0xfc00);
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  EXPECT_EQ(f32_to_f16(std::ldexp(1.0f, -25)), 0x0000);  // a tie to even: 0
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -26)), 0x0001);  // above the tie
  // 1 + 2^-11 is the tie between 1 and 1 + 2^-10: even is 1.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h) EXPECT_EQ(f32_to_f16(f16_to_f32(h)), h) << h;
}

TEST(FloatFormats, NamesParseBack) {
  for (FloatFormat f : {FloatFormat::f32, FloatFormat::bf16, FloatFormat::f16})
    EXPECT_EQ(parse_float_format(float_format_name(f), "test"), f);
  EXPECT_THROW(parse_float_format("fp16", "profile.json: weights"), std::runtime_error);
}

}  // namespace
}  // namespace gpt2
