// The oracle checks itself: deliberately broken kernel sets, registered only
// in this test binary, must each fail conformance, and the first finding
// must be located at the right tensor and position.
//
// Each broken set is the `eigen` set with one operation replaced by a
// scalar version carrying one bug that real engines have had.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <mutex>

#include "model/checkpoint.h"
#include "optimized/eigen_kernels.h"
#include "optimized/kernels.h"
#include "oracle/broken_kernels.h"
#include "oracle/conformance.h"
#include "oracle/report.h"
#include "model/files.h"

namespace gpt2::oracle {
namespace {

// A tiny model whose attention scores reach ~±500: exp overflows float32
// without the max subtraction, while the max-subtracted softmax is exact.
Weights<float> large_activation_tiny() {
  Weights<float> w = preset_weights("tiny");
  const int C = w.config.n_embd;
  for (auto& b : w.blocks)
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < 2 * C; ++j) b.attn_c_attn_weight[size_t(i) * 3 * C + j] *= 400.0f;
  return w;
}

// A tiny model whose MLP pre-activations are of order 1 (c_fc scaled by 25:
// standard deviation ~2), as in a trained GPT-2, rather than ~0.08 with the
// preset's N(0, 0.02) weights over 16 channels. There the erf and tanh GELUs
// differ by up to ~1e-3 relative; at |x| < 0.3 they agree to ~1e-6, near
// float32 noise, and the preset alone catches the erf GELU only marginally.
Weights<float> large_mlp_tiny() {
  Weights<float> w = preset_weights("tiny");
  for (auto& b : w.blocks)
    for (float& x : b.mlp_c_fc_weight) x *= 25.0f;
  return w;
}

enum class Model { tiny, large_scores, large_mlp };

struct Expectation {
  std::string kernel;
  std::string tensor;           // where the first finding must be
  std::string failing_scenario; // a scenario (name prefix) that must fail
  int position = -1;            // its first failing position, when fixed by the bug
  Model model = Model::tiny;
};

class BrokenKernelIsCaught : public ::testing::TestWithParam<Expectation> {};

TEST_P(BrokenKernelIsCaught, AndLocated) {
  register_broken_kernel_sets();
  const Expectation& e = GetParam();
  const Weights<float> weights = e.model == Model::large_scores ? large_activation_tiny()
                                 : e.model == Model::large_mlp  ? large_mlp_tiny()
                                                                : preset_weights("tiny");
  ConformanceOptions options;
  options.model = "tiny";
  options.kernels = {e.kernel};
  const auto report =
      run_conformance(weights, default_scenarios(weights.config, options.seed), options);
  EXPECT_FALSE(report.passed()) << e.kernel << " was not caught";
  bool saw_scenario = false;
  for (const ScenarioResult& r : report.results) {
    if (r.comparison.passed()) continue;
    const TensorResult& f = r.comparison.tensors[r.comparison.first_finding];
    EXPECT_EQ(f.name, e.tensor) << r.name() << ": " << r.comparison.summary();
    if (r.scenario.rfind(e.failing_scenario, 0) == 0) {
      saw_scenario = true;
      if (e.position >= 0) {
        EXPECT_EQ(f.first_failing_position, e.position) << r.name() << ": "
                                                        << r.comparison.summary();
      }
    }
    std::printf("  caught %-34s %s\n", r.name().c_str(), r.comparison.summary().c_str());
  }
  EXPECT_TRUE(saw_scenario) << "no failing scenario starting with '" << e.failing_scenario << "'";

  // The failing reports parse back: JSON strictly, JUnit as XML, with one
  // <failure> per failing result.
  const std::string base = ::testing::TempDir() + "/" + e.kernel;
  write_file_atomic(base + ".json", format_json(report));
  write_file_atomic(base + ".xml", format_junit(report));
  const std::string command = std::string("/usr/bin/python3 ") + GPT2_VALIDATE_REPORTS + " " +
                              base + ".json " + base + ".xml some";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

// The scenarios of tiny (P = 32): T = 1, 7 and 32; "chunked[2x3]+decode T=7"
// has its second chunk at position 2.
INSTANTIATE_TEST_SUITE_P(
    Oracle, BrokenKernelIsCaught,
    ::testing::Values(
        Expectation{"broken-unscaled", "block.0.attn", "prefill T=7", -1},
        Expectation{"broken-diagonal-hidden", "block.0.attn", "prefill T=7", 0},
        Expectation{"broken-no-mask-in-prefill", "block.0.attn", "prefill T=7", 0},
        Expectation{"broken-eps-outside-sqrt", "block.0.ln_1", "prefill T=1", 0},
        Expectation{"broken-erf-gelu", "block.0.gelu", "prefill T=1", 0, Model::large_mlp},
        Expectation{"broken-decode-next-position", "embed", "incremental T=7", 1},
        Expectation{"broken-softmax-no-max", "block.0.attn", "prefill T=7", 0, Model::large_scores},
        Expectation{"broken-cache-slot-after-chunk", "block.0.attn", "chunked[2x3]+decode T=7", 2},
        Expectation{"broken-top-left-chunk-mask", "block.0.attn", "chunked[2x3]+decode T=7", 2},
        Expectation{"broken-f16-kv-cache", "block.0.attn", "prefill T=7", -1},
        Expectation{"broken-approximate-exp", "block.0.attn", "prefill T=7", -1}),
    [](const ::testing::TestParamInfo<Expectation>& info) {
      std::string name = info.param.kernel;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

}  // namespace
}  // namespace gpt2::oracle
