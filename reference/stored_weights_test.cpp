// The reference on weights kept as stored (float) is bit-identical to the
// reference on the same weights converted to Real, at 50 and 100 digits, in
// every tensor of an op-level trace, in full and incremental mode, with and
// without the mask; and to the traces the reference gave before its weights
// stayed float (recorded as SHA-256 digests of their exact digits).
#include <gtest/gtest.h>
#include <mpfr.h>

#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/files.h"
// forward<double> on Weights<double> is instantiated here.
#include "reference/forward_impl.h"

namespace gpt2::reference {
namespace {

// Every element of every tensor, exactly: MPFR's hexadecimal digits (all of
// them: base 16 with n = 0 is exact for a binary number) and exponent, so
// that two texts are equal exactly when the traces are bit-identical
// (zeros' signs included). Hardware scalars by their hex-float text.
template <class Real>
std::string exact_text(const Trace<Real>& trace) {
  std::string text;
  for_each_trace_tensor(
      trace, [&](const std::string& name, const std::vector<Real>& t, const Shape&) {
        text += name + "\n";
        for (const Real& x : t) {
          if constexpr (is_mpfr_v<Real>) {
            mpfr_exp_t exponent = 0;
            char* digits = mpfr_get_str(nullptr, &exponent, 16, 0, x.backend().data(), MPFR_RNDN);
            text += std::string(digits) + "p" + std::to_string(exponent) + ",";
            mpfr_free_str(digits);
          } else {
            char hex[64];
            std::snprintf(hex, sizeof hex, "%a,", static_cast<double>(x));
            text += hex;
          }
        }
        text += "\n";
      });
  return text;
}

std::vector<int> tokens_for(int T, int V) {
  std::vector<int> tokens(T);
  for (int i = 0; i < T; ++i) tokens[i] = (37 * i + 11) % V;
  tokens.front() = 0;
  tokens.back() = V - 1;
  return tokens;
}

struct TraceRun {
  const char* name;
  Mode mode;
  Mask mask;
};
constexpr TraceRun kRuns[] = {{"full causal", Mode::full, Mask::causal},
                              {"full none", Mode::full, Mask::none},
                              {"incremental causal", Mode::incremental, Mask::causal}};

Options options_for(const TraceRun& run) {
  Options options;
  options.mode = run.mode;
  options.mask = run.mask;
  options.trace_level = TraceLevel::ops;
  options.threads = 2;
  return options;
}

template <class Real>
void expect_stored_matches_converted(const char* preset, int T) {
  const Weights<float> stored = preset_weights(preset);
  const Weights<Real> converted = convert_weights<Real>(stored);
  const std::vector<int> tokens = tokens_for(T, stored.config.vocab_size);
  for (const TraceRun& run : kRuns) {
    SCOPED_TRACE(std::string(preset) + " at " + scalar_name<Real>() + ", " + run.name);
    const Trace<Real> a = forward<Real>(stored, tokens, options_for(run));
    const Trace<Real> b = forward<Real>(converted, tokens, options_for(run));
    EXPECT_TRUE(exact_text(a) == exact_text(b));
  }
}

TEST(StoredWeightsTest, TraceIsBitIdenticalToWeightsConvertedToReal) {
  expect_stored_matches_converted<Real50>("tiny", 9);
  expect_stored_matches_converted<Real100>("tiny", 9);
  expect_stored_matches_converted<Real50>("small", 12);
  expect_stored_matches_converted<Real100>("small", 12);
  expect_stored_matches_converted<double>("small", 12);
}

// SHA-256 of exact_text, recorded with the reference of commit 294bd7a
// (weights converted to Real at load; tokens_for, op-level trace, 2 threads).
// Full and incremental mode agree bit for bit, as they did then.
struct Recorded {
  const char* preset;
  int T;
  int digits;
  const char* run;
  const char* sha256;
};
constexpr Recorded kRecorded[] = {
    {"tiny", 9, 50, "full causal",
     "4c035600234c2d571b151cfffd3db1cdf54b9558646d69b0b0babedee8521ca4"},
    {"tiny", 9, 50, "full none",
     "4f03d233e95a6555caf2df221c1ded6c489926e2ed9363f2b39ea210f2b6a186"},
    {"tiny", 9, 50, "incremental causal",
     "4c035600234c2d571b151cfffd3db1cdf54b9558646d69b0b0babedee8521ca4"},
    {"tiny", 9, 100, "full causal",
     "3ffda689afcfc8c2dc305767af74373d5284b868a5e396c4851b51ac1cc9d4f0"},
    {"tiny", 9, 100, "full none",
     "f19ef3906870f0ec10b4a5e6efee736c0328d067e63f6c686311a616a8645df8"},
    {"tiny", 9, 100, "incremental causal",
     "3ffda689afcfc8c2dc305767af74373d5284b868a5e396c4851b51ac1cc9d4f0"},
    {"small", 12, 50, "full causal",
     "db1dd0bfec1ef6c35363f4f58417e2a73ff4fecb4e4fb9662d90e4e2be06150f"},
    {"small", 12, 50, "full none",
     "32ac8566a13b206b4ca5e01e19692f9fb8716123de23442ea7b8e72e1c1872f1"},
    {"small", 12, 50, "incremental causal",
     "db1dd0bfec1ef6c35363f4f58417e2a73ff4fecb4e4fb9662d90e4e2be06150f"},
    {"small", 12, 100, "full causal",
     "b107cc5b3f4c85fb826f6afb1431b6ee6fd67d7a9fc224c6f976eb009d589c03"},
    {"small", 12, 100, "full none",
     "5daf54928629cfaa3829f66f13c23729ca850492a20a81f1aa2d03d46f5bdc65"},
    {"small", 12, 100, "incremental causal",
     "b107cc5b3f4c85fb826f6afb1431b6ee6fd67d7a9fc224c6f976eb009d589c03"},
};

template <class Real>
std::string digest_of(const Weights<float>& weights, int T, const TraceRun& run) {
  return sha256_hex(exact_text(
      forward<Real>(weights, tokens_for(T, weights.config.vocab_size), options_for(run))));
}

TEST(StoredWeightsTest, TraceIsTheOneRecordedBeforeWeightsStayedFloat) {
  for (const Recorded& r : kRecorded) {
    SCOPED_TRACE(std::string(r.preset) + " at " + std::to_string(r.digits) + " digits, " + r.run);
    const TraceRun* run = nullptr;
    for (const TraceRun& candidate : kRuns)
      if (std::string(candidate.name) == r.run) run = &candidate;
    ASSERT_NE(run, nullptr);
    const Weights<float> weights = preset_weights(r.preset);
    EXPECT_EQ(r.digits == 50 ? digest_of<Real50>(weights, r.T, *run)
                             : digest_of<Real100>(weights, r.T, *run),
              r.sha256);
  }
}

}  // namespace
}  // namespace gpt2::reference
