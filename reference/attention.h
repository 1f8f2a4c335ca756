// GPT-2's causal self-attention, one function per equation, for any scalar
// Real. Shapes: Tq query rows, Tk keys, NH heads of HS channels (C = NH·HS);
// head h of a [rows, C] tensor is its columns h·HS .. h·HS + HS - 1.
//
// Queries carry absolute positions: query row r is position first_position +
// r, and key j is position j. The full pass has first_position 0 and Tk = Tq;
// an incremental step has one query at position p and Tk = p + 1 keys from the
// cache.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/error.h"
#include "model/modes.h"
#include "reference/parallel.h"
#include "reference/rounding.h"
#include "reference/team.h"

namespace gpt2::reference {

// The keys a query may attend to: visible_keys(mask, query_position, Tk)
// (model/modes.h), a prefix 0 .. n-1 of the Tk keys.

// s_j = (q · k_j) / sqrt(HS)   for the visible keys j = 0 .. n-1 of one head
// scores: [n] (resized);  q: [HS] (one query row of one head);
// keys: [Tk, C], head at column `head_offset`.
template <class Real>
void attention_scores(std::vector<Real>& scores, const Real* q, const std::vector<Real>& keys,
                      int n, int C, int head_offset, int HS) {
  using std::sqrt;
  scores.assign(n, Real(0));
  const Real root_head_size = sqrt(Real(HS));
  for (int j = 0; j < n; ++j) {
    const Real* k = &keys[static_cast<size_t>(j) * C + head_offset];
    Real dot = Real(0);
    for (int d = 0; d < HS; ++d) dot += q[d] * k[d];
    scores[j] = dot / root_head_size;
  }
}

// p_j = exp(s_j - max_k s_k) / Σ_k exp(s_k - max_k s_k)   (softmax, max-subtracted
// so that no exp overflows; mathematically the same as exp(s_j) / Σ exp(s_k))
// probabilities: [n] (resized);  scores: [n], n >= 1.
template <class Real>
void softmax(std::vector<Real>& probabilities, const std::vector<Real>& scores) {
  using std::exp;
  GPT2_CHECK(!scores.empty(), "softmax over no scores");
  Real max_score = scores[0];
  for (const Real& s : scores)
    if (s > max_score) max_score = s;
  probabilities.assign(scores.size(), Real(0));
  Real sum = Real(0);
  for (size_t j = 0; j < scores.size(); ++j) {
    probabilities[j] = exp(scores[j] - max_score);
    sum += probabilities[j];
  }
  for (Real& p : probabilities) p /= sum;
}

// o = Σ_j p_j · v_j   (attention-weighted sum of the values of one head)
// out: [HS] (one output row of one head);  probabilities: [n];
// values: [Tk, C], head at column `head_offset`.
template <class Real>
void weighted_values(Real* out, const std::vector<Real>& probabilities,
                     const std::vector<Real>& values, int C, int head_offset, int HS) {
  for (int d = 0; d < HS; ++d) out[d] = Real(0);
  for (size_t j = 0; j < probabilities.size(); ++j) {
    const Real* v = &values[j * C + head_offset];
    for (int d = 0; d < HS; ++d) out[d] += probabilities[j] * v[d];
  }
}

// a_h = softmax(q_h·k_hᵀ / sqrt(HS), masked) · v_h for every head h, and
// a = [a_0 | a_1 | ... | a_{NH-1}]   (GPT-2 Attention._attn + merge_heads)
// a: [Tq, C] (resized);  q: [Tq, C];  keys, values: [Tk, C].
// Under a profile whose attention_probs point rounds (model/profile.h), each
// p_j is rounded to `probabilities_format` after the division by the sum,
// before it multiplies v_j.
// Work items are (head, query row) pairs; in a team (reference/team.h) each
// rank takes a slice of the heads, and the heads are exchanged before return.
template <class Real>
void attention(std::vector<Real>& a, const std::vector<Real>& q, const std::vector<Real>& keys,
               const std::vector<Real>& values, int Tq, int Tk, int first_position, int NH, int HS,
               Mask mask, const Parallel& parallel,
               FloatFormat probabilities_format = FloatFormat::f32) {
  const int C = NH * HS;
  GPT2_CHECK(q.size() == static_cast<size_t>(Tq) * C, "attention: q is not [Tq, C]");
  GPT2_CHECK(keys.size() >= static_cast<size_t>(Tk) * C, "attention: keys are not [Tk, C]");
  GPT2_CHECK(values.size() >= static_cast<size_t>(Tk) * C, "attention: values are not [Tk, C]");
  GPT2_CHECK(first_position + Tq <= Tk, "attention: a query has no key at its own position");
  a.assign(static_cast<size_t>(Tq) * C, Real(0));
  const int64_t cost = (2 * static_cast<int64_t>(Tk) * HS + 40 * static_cast<int64_t>(Tk)) *
                       multiply_add_nanoseconds<Real>();
  const Slice heads = owned_slice(parallel, NH);  // every head, in one process
  parallel.for_each(heads.size() * Tq, cost, [&](int64_t item) {
    const int h = static_cast<int>(heads.begin + item / Tq), r = static_cast<int>(item % Tq);
    const int head_offset = h * HS;
    const int n = visible_keys(mask, first_position + r, Tk);
    std::vector<Real> scores, probabilities;
    attention_scores(scores, &q[static_cast<size_t>(r) * C + head_offset], keys, n, C, head_offset,
                     HS);
    softmax(probabilities, scores);
    round_in_place(probabilities, probabilities_format);  // profile: attention_probs
    weighted_values(&a[static_cast<size_t>(r) * C + head_offset], probabilities, values, C,
                    head_offset, HS);
  });
  share_owned_columns(parallel, a, Tq, C, HS);  // in a team: each rank's heads
}

// The attention of one row of a padded batch (model/batch.h), W columns:
// query c and key j are columns, and key j is visible to query c when
//   Mask::causal: j <= c  (Mask::none: every j), and
//   under the padding mask, both are real tokens: real[j] and real[c].
// Every key takes part in every sum, a hidden key with probability exactly 0:
//   m   = max over the visible j of s_j = (q_c · k_j) / sqrt(HS)
//   p_j = exp(s_j - m) if j is visible, else 0
//   a_c = Σ_j (p_j / Σ_k p_k) · v_j     (both sums over all j = 0 .. W-1, in order)
// A zero term changes no sum (x + 0 = x, 0 · v = 0 for a finite v, exactly,
// at any precision), so a real query's result is bit for bit that of its
// row run alone: padding adds exact zeros (reference/batch_test.cpp). A query
// that sees no key (a padding query under the padding mask, whose value is
// part of no result) gets a_c = 0. Under a profile whose attention_probs
// point rounds, each p_j / Σ_k p_k is rounded to `probabilities_format`
// before it multiplies v_j, as in attention() (a hidden key's 0 stays 0).
// a: [W, C] (written);  q, keys, values: [W, C] (the row's columns);  real: [W].
template <class Real>
void padded_attention(Real* a, const Real* q, const Real* keys, const Real* values,
                      const char* real, int W, int NH, int HS, Mask mask, bool padding_mask,
                      const Parallel& parallel,
                      FloatFormat probabilities_format = FloatFormat::f32) {
  using std::exp;
  using std::sqrt;
  const int C = NH * HS;
  const Real root_head_size = sqrt(Real(HS));
  const int64_t cost = (2 * static_cast<int64_t>(W) * HS + 40 * static_cast<int64_t>(W)) *
                       multiply_add_nanoseconds<Real>();
  parallel.for_each(static_cast<int64_t>(NH) * W, cost, [&](int64_t item) {
    const int h = static_cast<int>(item / W), c = static_cast<int>(item % W);
    const int offset = h * HS;
    auto visible = [&](int j) {
      const bool unmasked = j < visible_keys(mask, c, W);
      return unmasked && (!padding_mask || (real[j] && real[c]));
    };
    Real* out = a + static_cast<size_t>(c) * C + offset;
    for (int d = 0; d < HS; ++d) out[d] = Real(0);
    std::vector<Real> p(W, Real(0));
    bool any = false;
    Real max_score = Real(0);
    for (int j = 0; j < W; ++j) {
      if (!visible(j)) continue;
      const Real* qc = q + static_cast<size_t>(c) * C + offset;
      const Real* kj = keys + static_cast<size_t>(j) * C + offset;
      Real dot = Real(0);
      for (int d = 0; d < HS; ++d) dot += qc[d] * kj[d];
      p[j] = dot / root_head_size;  // the score, for now
      if (!any || p[j] > max_score) max_score = p[j];
      any = true;
    }
    if (!any) return;
    Real sum = Real(0);
    for (int j = 0; j < W; ++j) {
      p[j] = visible(j) ? Real(exp(p[j] - max_score)) : Real(0);
      sum += p[j];
    }
    for (int j = 0; j < W; ++j) p[j] /= sum;
    round_in_place(p, probabilities_format);  // profile: attention_probs
    for (int j = 0; j < W; ++j) {
      const Real* vj = values + static_cast<size_t>(j) * C + offset;
      for (int d = 0; d < HS; ++d) out[d] += p[j] * vj[d];
    }
  });
}

}  // namespace gpt2::reference
