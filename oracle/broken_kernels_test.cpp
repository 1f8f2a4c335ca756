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
#include <set>

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
// (tiny at GPT-2's activation scale, the conformance default's act=gpt2
// scenarios, has scores of order 10: no overflow.)
Weights<float> large_scores_tiny() {
  Weights<float> w = preset_weights("tiny");
  const int C = w.config.n_embd;
  for (auto& b : w.blocks)
    for (int i = 0; i < C; ++i)
      for (int j = 0; j < 2 * C; ++j) b.attn_c_attn_weight[size_t(i) * 3 * C + j] *= 400.0f;
  return w;
}

// A model whose projections' inner size is not a multiple of 4 (n_embd 18:
// 3 heads of 6), where a GEMM that forgets its remainder loop shows.
Weights<float> width18() { return seeded_weights(make_config(2, 3, 18, 16, 64), 7); }

enum class Model { tiny, large_scores, width18 };

struct Expectation {
  std::string kernel;
  std::string tensor;            // the trace's first finding
  std::string failing_scenario;  // a scenario (name prefix) that must fail
  int position = -1;             // its first failing position, when fixed by the bug
  // Replay: every op (cli name, layer; -1 for embed, ln_f, logits) beyond
  // budget in some scenario, and no other.
  std::vector<std::pair<std::string, int>> replayed;
  Model model = Model::tiny;
  // A batch scenario's first row with a finding (or, for a set that breaks
  // its declared batch invariance within budget, the first row that differs
  // from its single run).
  int row = -1;
  bool within_budget_not_batch_invariant = false;
};

class BrokenKernelIsCaught : public ::testing::TestWithParam<Expectation> {};

TEST_P(BrokenKernelIsCaught, ByTheTraceAndByReplayAndLocated) {
  register_broken_kernel_sets();
  const Expectation& e = GetParam();
  const Weights<float> weights = e.model == Model::large_scores ? large_scores_tiny()
                                 : e.model == Model::width18    ? width18()
                                                                : preset_weights("tiny");
  ConformanceOptions options;
  options.model = "tiny";
  options.kernels = {e.kernel};
  const auto report = run_conformance(
      weights, default_scenarios(weights.config, options.seed, e.model == Model::tiny), options);
  EXPECT_FALSE(report.passed()) << e.kernel << " was not caught";
  bool saw_scenario = false;
  std::set<std::pair<std::string, int>> replayed;
  for (const ScenarioResult& r : report.results) {
    ASSERT_EQ(r.replay.has_value(), !r.batch.has_value()) << r.name();  // batches: no replay
    if (r.replay)
      for (const auto& o : r.replay->ops)
        if (o.beyond) {
          replayed.insert({o.id.cli_name(), o.id.layer});
          EXPECT_NE(o.reproduce.find("gpt2-oracle replay --model tiny"), std::string::npos)
              << o.reproduce;
        }
    if (e.within_budget_not_batch_invariant) {
      // Every trace within budget; the batches break the declared invariance.
      EXPECT_TRUE(r.comparison.passed()) << r.name() << ": " << r.comparison.summary();
      if (r.passed()) continue;
      ASSERT_TRUE(r.within_budget_not_batch_invariant()) << r.name();
      const std::string where = result_where_text(r);
      EXPECT_EQ(where.rfind("within budget, not batch-invariant: row ", 0), 0u) << where;
      const auto& d = *r.batch->difference;
      EXPECT_EQ(d.id.name(), e.tensor) << where;
      if (r.scenario.rfind(e.failing_scenario, 0) == 0) {
        saw_scenario = true;
        EXPECT_EQ(r.batch->difference_row, e.row) << where;
        EXPECT_EQ(d.position, e.position) << where;
      }
      std::printf("  caught %-40s %s\n", r.name().c_str(), where.c_str());
      continue;
    }
    if (r.comparison.passed()) continue;
    const TensorResult& f = r.comparison.tensors[r.comparison.first_finding];
    if (r.batch && r.scenario.rfind(e.failing_scenario, 0) == 0 && e.row >= 0) {
      EXPECT_EQ(r.batch->reported_row, e.row) << r.name() << ": " << result_where_text(r);
    }
    EXPECT_EQ(f.name, e.tensor) << r.name() << ": " << r.comparison.summary();
    if (r.scenario.rfind(e.failing_scenario, 0) == 0) {
      saw_scenario = true;
      if (e.position >= 0) {
        EXPECT_EQ(f.first_failing_position, e.position)
            << r.name() << ": " << r.comparison.summary();
      }
    }
    std::printf("  caught %-40s %s\n    replay: %s\n", r.name().c_str(),
                result_where_text(r).c_str(), r.replay ? r.replay->summary().c_str() : "-");
  }
  EXPECT_TRUE(saw_scenario) << "no failing scenario starting with '" << e.failing_scenario << "'";
  const std::set<std::pair<std::string, int>> expected(e.replayed.begin(), e.replayed.end());
  EXPECT_EQ(replayed, expected) << "the ops replay found beyond budget";

  // The failing reports parse back: JSON strictly, JUnit as XML, with one
  // <failure> per failing trace and per failing replayed op.
  const std::string base = ::testing::TempDir() + "/" + e.kernel;
  write_file_atomic(base + ".json", format_json(report));
  write_file_atomic(base + ".xml", format_junit(report));
  const std::string command = std::string("/usr/bin/python3 ") + GPT2_VALIDATE_REPORTS + " " +
                              base + ".json " + base + ".xml some";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

// Each op in both blocks of tiny.
std::vector<std::pair<std::string, int>> in_both_blocks(const std::string& op) {
  return {{op, 0}, {op, 1}};
}

// The scenarios of tiny (P = 32): T = 1, 7 and 32, and T = 7 again at
// GPT-2's activation scale; "chunked[2x3]+decode T=7" has its second chunk
// at position 2.
INSTANTIATE_TEST_SUITE_P(
    Oracle, BrokenKernelIsCaught,
    ::testing::Values(
        Expectation{"broken-unscaled", "block.0.attn", "prefill T=7", -1,
                    in_both_blocks("attention")},
        Expectation{"broken-scaled-by-model-width", "block.0.attn", "prefill T=7", -1,
                    in_both_blocks("attention")},
        Expectation{"broken-diagonal-hidden", "block.0.attn", "prefill T=7", 0,
                    in_both_blocks("attention")},
        Expectation{"broken-no-mask-in-prefill", "block.0.attn", "prefill T=7", 0,
                    in_both_blocks("attention")},
        Expectation{"broken-eps-outside-sqrt",
                    "block.0.ln_1",
                    "prefill T=1",
                    0,
                    {{"ln_1", 0}, {"ln_1", 1}, {"ln_2", 0}, {"ln_2", 1}, {"ln_f", -1}}},
        Expectation{"broken-ln2-eps-1e-6", "block.0.ln_2", "prefill T=1", 0,
                    in_both_blocks("ln_2")},
        Expectation{"broken-erf-gelu", "block.0.gelu", "prefill T=7 act=gpt2", 0,
                    in_both_blocks("fc_gelu")},
        Expectation{"broken-decode-next-position", "embed", "incremental T=7", 1, {{"embed", -1}}},
        Expectation{"broken-softmax-no-max", "block.0.attn", "prefill T=7", 0,
                    in_both_blocks("attention"), Model::large_scores},
        Expectation{"broken-cache-slot-after-chunk", "block.0.attn", "chunked[2x3]+decode T=7", 2,
                    in_both_blocks("attention")},
        Expectation{"broken-top-left-chunk-mask", "block.0.attn", "chunked[2x3]+decode T=7", 2,
                    in_both_blocks("attention")},
        Expectation{"broken-f16-kv-cache", "block.0.attn", "prefill T=7", -1,
                    in_both_blocks("attention")},
        Expectation{"broken-approximate-exp", "block.0.attn", "prefill T=7 act=gpt2", -1,
                    in_both_blocks("attention")},
        Expectation{"broken-bias-from-layer-0-in-block-1",
                    "block.1.mid",
                    "prefill T=1",
                    0,
                    {{"attn_proj", 1}}},
        Expectation{"broken-gemm-drops-remainder",
                    "block.0.qkv",
                    "prefill T=1",
                    0,
                    {{"qkv", 0},
                     {"qkv", 1},
                     {"attn_proj", 0},
                     {"attn_proj", 1},
                     {"fc_gelu", 0},
                     {"fc_gelu", 1}},
                    Model::width18},
        // Batch bugs, in "batch[9,1,5]+2 left": row 0 fills the rectangle, row
        // 1 has 8 padding columns before its one token (position 0), decoded
        // at position 1. Single sequences are right, so replay finds nothing.
        Expectation{"broken-positions-count-padding",
                    "embed",
                    "batch[9,1,5]+2 left",
                    0,
                    {},
                    Model::tiny,
                    1},
        Expectation{"broken-padded-keys-visible-in-prefill",
                    "block.0.attn",
                    "batch[9,1,5]+2 left",
                    0,
                    {},
                    Model::tiny,
                    1},
        Expectation{"broken-padded-keys-visible-in-decode",
                    "block.0.attn",
                    "batch[9,1,5]+2 left",
                    1,
                    {},
                    Model::tiny,
                    1},
        Expectation{"broken-cache-into-next-row",
                    "block.0.attn",
                    "batch[9,1,5]+2 left",
                    0,
                    {},
                    Model::tiny,
                    0},
        Expectation{"broken-gemm-order-depends-on-batch",
                    "block.0.qkv",
                    "batch[9,1,5]+2 left",
                    0,
                    {},
                    Model::tiny,
                    0,
                    true}),
    [](const ::testing::TestParamInfo<Expectation>& info) {
      std::string name = info.param.kernel;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

// On tiny at GPT-2's activation scale, the demo's own model, the erf GELU,
// the approximate exp and eps outside the root are caught with a wide margin.
TEST(BrokenKernelIsCaught, SubtleBugsShowWithAWideMarginAtGpt2sActivationScale) {
  register_broken_kernel_sets();
  for (const char* kernel :
       {"broken-erf-gelu", "broken-approximate-exp", "broken-eps-outside-sqrt"}) {
    ConformanceOptions options;
    options.kernels = {kernel};
    options.filter = "prefill T=7 act=gpt2";
    const Weights<float> weights = preset_weights("tiny");
    const auto report =
        run_conformance(weights, default_scenarios(weights.config, 1, true), options);
    ASSERT_EQ(report.results.size(), 1u);
    const auto& r = report.results[0];
    EXPECT_GE(r.comparison.worst_ratio(), 10) << kernel << ": " << r.comparison.summary();
    EXPECT_GE(r.replay->worst_ratio(), 10) << kernel << ": " << r.replay->summary();
    std::printf("  %s: trace %s; replay %s\n", kernel, r.comparison.summary().c_str(),
                r.replay->summary().c_str());
  }
}

}  // namespace
}  // namespace gpt2::oracle
