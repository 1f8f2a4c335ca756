// The mask's rule (visible_keys) and the names of masks and modes.
#include "model/modes.h"

#include <gtest/gtest.h>

#include <string>

namespace gpt2 {
namespace {

TEST(Modes, CausalMaskShowsKeysUpToTheQueryPosition) {
  EXPECT_EQ(visible_keys(Mask::causal, 0, 4), 1);
  EXPECT_EQ(visible_keys(Mask::causal, 2, 4), 3);
  EXPECT_EQ(visible_keys(Mask::causal, 3, 4), 4);
  EXPECT_EQ(visible_keys(Mask::none, 0, 4), 4);
  // An incremental step: query at position 5 over a cache of 6 keys.
  EXPECT_EQ(visible_keys(Mask::causal, 5, 6), 6);
  EXPECT_EQ(visible_keys(Mask::none, 5, 6), 6);
}

TEST(Modes, NamesAreTheCliWords) {
  EXPECT_EQ(std::string(mask_name(Mask::causal)), "causal");
  EXPECT_EQ(std::string(mask_name(Mask::none)), "none");
  EXPECT_EQ(std::string(mode_name(Mode::full)), "full");
  EXPECT_EQ(std::string(mode_name(Mode::incremental)), "incremental");
  EXPECT_EQ(std::string(mode_name(Mode::chunked)), "chunked");
}

}  // namespace
}  // namespace gpt2
