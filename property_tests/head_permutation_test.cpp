// Claim 8: permuting the heads leaves every tensor unchanged. Head h owns
// columns h·HS .. h·HS+HS-1 of each of q, k and v (c_attn weight [C, 3C] and
// bias [3C]) and the same rows of c_proj weight [C, C]; moving all of them
// together moves head h's output to another slot of the concatenation and
// the matching rows of c_proj with it, so x·W is the same sum in another
// order.
//
// In the reference at 50 digits: agreement to at least kMinAgreeingDigits
// significant digits (c_proj sums in another order, so not bit-identical).
// In every kernel set: within the oracle's budget of the unpermuted model's
// truth (rounding weights to bf16 commutes with the permutation).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <numeric>
#include <sstream>

#include "optimized/engine.h"
#include "property_tests/checks.h"

namespace gpt2::properties {
namespace {

// perm[s]: the original head that moves to slot s.
Weights<float> permute_heads(const Weights<float>& weights, const std::vector<int>& perm) {
  Weights<float> out = weights;
  const int C = weights.config.n_embd, HS = weights.config.head_size();
  for (size_t l = 0; l < weights.blocks.size(); ++l) {
    const auto& b = weights.blocks[l];
    auto& o = out.blocks[l];
    for (size_t s = 0; s < perm.size(); ++s)
      for (int d = 0; d < HS; ++d) {
        const int to = static_cast<int>(s) * HS + d, from = perm[s] * HS + d;
        for (int part = 0; part < 3; ++part) {  // q, k, v
          for (int i = 0; i < C; ++i)
            o.attn_c_attn_weight[static_cast<size_t>(i) * 3 * C + part * C + to] =
                b.attn_c_attn_weight[static_cast<size_t>(i) * 3 * C + part * C + from];
          o.attn_c_attn_bias[part * C + to] = b.attn_c_attn_bias[part * C + from];
        }
        for (int j = 0; j < C; ++j)
          o.attn_c_proj_weight[static_cast<size_t>(to) * C + j] =
              b.attn_c_proj_weight[static_cast<size_t>(from) * C + j];
      }
  }
  return out;
}

// A permutation of NH heads by Fisher-Yates swaps; each swap shrinks toward
// "no swap", so the permutation shrinks toward the identity.
rc::Gen<std::vector<int>> gen_permutation(int n) {
  return rc::gen::exec([n] {
    std::vector<int> perm(n);
    std::iota(perm.begin(), perm.end(), 0);
    for (int i = 0; i + 1 < n; ++i) std::swap(perm[i], perm[*rc::gen::inRange(i, n)]);
    return perm;
  });
}

RC_GTEST_PROP(HeadPermutation, LeavesEveryTensorUnchanged, ()) {
  ModelLimits limits;
  limits.config.min_heads = 2;  // one head has no other order
  const ModelCase m = *gen_model_case(limits);
  const std::vector<int> perm = *gen_permutation(m.config.n_head);
  const Weights<float> weights = m.weights();
  const Weights<float> permuted = permute_heads(weights, perm);
  std::ostringstream name;
  name << "heads permuted to [";
  for (size_t s = 0; s < perm.size(); ++s) name << (s ? "," : "") << perm[s];
  name << "]";

  const std::string digits = digits_difference(
      "reference", reference50(weights, m.tokens, Mask::causal), "reference with " + name.str(),
      reference50(permuted, m.tokens, Mask::causal), kMinAgreeingDigits);
  if (!digits.empty()) RC_FAIL(failure(m, digits));

  Truths truths(weights, m.tokens, Mask::causal, m.weight_seed);
  for (const optimized::KernelSet* set : kernel_sets()) {
    const std::string finding = budget_finding(
        "kernel " + set->name + " with " + name.str() + ", against the unpermuted truth",
        optimized::run_trace(permuted, m.tokens, set->name, Mode::full, 0, Mask::causal, kThreads),
        truths.of(*set), Mask::causal);
    if (!finding.empty()) RC_FAIL(failure(m, finding));
  }
}

}  // namespace
}  // namespace gpt2::properties
