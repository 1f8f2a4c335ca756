// The property tests' main: fixes RapidCheck's settings before any property
// runs, so that CI is reproducible and the suite's length is one knob.
//
//   RC_PARAMS             RapidCheck's own settings ("seed=1 max_success=500",
//                         or the "reproduce=..." line of a failure); keys it
//                         sets win.
//   GPT2_PROPERTY_CASES   successful cases per property when RC_PARAMS sets
//                         no max_success (default kDefaultCases); ci/test
//                         lowers it under the sanitizers.
//
// Without a seed in RC_PARAMS the fixed kDefaultSeed is used (RapidCheck's own
// default is a random seed). The settings in effect are printed before the
// first test, and every failure message repeats them.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "property_tests/checks.h"

namespace {

constexpr const char* kDefaultSeed = "20261126";
constexpr int kDefaultCases = 100;

bool has_key(const std::string& params, const std::string& key) {
  std::istringstream words(params);
  std::string word;
  while (words >> word)
    if (word.rfind(key + "=", 0) == 0) return true;
  return false;
}

// RC_PARAMS with the defaults added; RapidCheck reads the variable once, on
// first use, which is after this.
std::string settle_rc_params() {
  const char* given = std::getenv("RC_PARAMS");
  std::string params = given ? given : "";
  const bool reproducing = has_key(params, "reproduce");
  if (!has_key(params, "seed") && !reproducing) params += std::string(" seed=") + kDefaultSeed;
  if (!has_key(params, "max_success")) {
    int cases = kDefaultCases;
    if (const char* text = std::getenv("GPT2_PROPERTY_CASES")) {
      char* end = nullptr;
      const long n = std::strtol(text, &end, 10);
      if (end == text || *end != '\0' || n < 1 || n > 10'000'000) {
        std::fprintf(stderr, "GPT2_PROPERTY_CASES: expected a positive number of cases, got '%s'\n",
                     text);
        std::exit(2);
      }
      cases = static_cast<int>(n);
    }
    params += " max_success=" + std::to_string(cases);
  }
  if (!params.empty() && params.front() == ' ') params.erase(0, 1);
  setenv("RC_PARAMS", params.c_str(), 1);
  return params;
}

// Prints the settings once, before the first test (not when gtest only lists
// the tests, as ctest's test discovery does).
class PrintSettings : public ::testing::Environment {
 public:
  void SetUp() override {
    std::printf("property tests: RC_PARAMS=\"%s\"\n",
                gpt2::properties::rc_params_in_effect().c_str());
    std::fflush(stdout);
  }
};

}  // namespace

int main(int argc, char** argv) {
  gpt2::properties::set_rc_params_in_effect(settle_rc_params());
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new PrintSettings);
  return RUN_ALL_TESTS();
}
