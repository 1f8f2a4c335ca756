// The project's kernel set against gpt2-oracle's conformance suite: every
// scenario (prefill, incremental decode, chunked prefill, no mask; 1, 7 and
// 32 tokens; GPT-2-scale activations) on the built-in tiny model, each trace
// judged against the 50-digit reference and each op replayed alone. A failure
// names the scenario, the tensor, the layer and the position, and the op
// replay found beyond budget.
#include <gpt2_oracle/testing.h>

#include "online_attention_kernels.h"

TEST(OnlineAttentionKernels, ConformOnTiny) {
  GPT2_ORACLE_EXPECT_CONFORMS(
      gpt2::check::kernel_set<external::OnlineAttentionKernels>("online-attention"), "tiny");
}

TEST(OnlineAttentionKernels, ConformOnSmallWithAnotherSeed) {
  gpt2::check::ConformanceCheck check("small");
  check.seed = 7;
  check.filter = "chunked[2x3]+decode T=7";  // with and without GPT-2-scale activations
  GPT2_ORACLE_EXPECT_CONFORMS(
      gpt2::check::kernel_set<external::OnlineAttentionKernels>("online-attention"), check);
}
