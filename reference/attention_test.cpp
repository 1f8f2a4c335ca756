// The attention equations: mask, scale, softmax, weighted sum.
#include "reference/attention.h"

#include <gtest/gtest.h>

#include <cmath>

#include "reference/real.h"

namespace gpt2::reference {
namespace {

// q = (1, 1, 1, 1), keys (1, 1, 1, 1) and 0: scores 4/sqrt(4) = 2 and 0.
TEST(AttentionTest, ScoresAreScaledByOneOverSqrtHeadSize) {
  std::vector<double> scores;
  const double q[4] = {1, 1, 1, 1};
  attention_scores<double>(scores, q, {1, 1, 1, 1, 0, 0, 0, 0}, 2, 4, 0, 4);
  EXPECT_EQ(scores, (std::vector<double>{2, 0}));
}

TEST(AttentionTest, SoftmaxIsMaxSubtracted) {
  std::vector<double> p;
  softmax<double>(p, {1000, 1000});  // exp(1000) alone overflows
  EXPECT_EQ(p, (std::vector<double>{0.5, 0.5}));
  softmax<double>(p, {2, 0});
  EXPECT_NEAR(p[0], 0.880797077977882444, 1e-15);  // e²/(1 + e²)
  EXPECT_NEAR(p[0] + p[1], 1.0, 1e-15);
  std::vector<Real50> p50;
  softmax<Real50>(p50, {Real50(3), Real50(3), Real50(3)});
  EXPECT_LT(static_cast<double>(abs(p50[0] - Real50(1) / 3)), 1e-49);
}

// Queries of zero give equal scores: position t's output is the mean of the
// values it may see.
TEST(AttentionTest, EqualScoresAverageTheVisibleValues) {
  const int T = 3, NH = 2, HS = 2, C = NH * HS;
  std::vector<double> q(T * C, 0.0), k(T * C), v(T * C), a;
  for (int i = 0; i < T * C; ++i) {
    k[i] = 0.5 * i;
    v[i] = i * i;
  }
  for (Mask mask : {Mask::causal, Mask::none}) {
    attention<double>(a, q, k, v, T, T, 0, NH, HS, mask, Parallel(1));
    for (int t = 0; t < T; ++t) {
      const int n = mask == Mask::causal ? t + 1 : T;
      for (int c = 0; c < C; ++c) {
        double mean = 0;
        for (int j = 0; j < n; ++j) mean += v[j * C + c];
        EXPECT_NEAR(a[t * C + c], mean / n, 1e-12) << mask_name(mask) << " t=" << t;
      }
    }
  }
}

// An incremental step (one query at position p over p + 1 cached keys) is the
// last row of the full pass.
TEST(AttentionTest, OneQueryOverTheCacheIsTheLastRowOfTheFullPass) {
  const int T = 4, NH = 2, HS = 3, C = NH * HS;
  std::vector<double> q(T * C), k(T * C), v(T * C), full, step;
  for (int i = 0; i < T * C; ++i) {
    q[i] = std::sin(i);
    k[i] = std::cos(1.5 * i);
    v[i] = std::sin(0.7 * i + 1);
  }
  attention<double>(full, q, k, v, T, T, 0, NH, HS, Mask::causal, Parallel(1));
  const std::vector<double> last_q(q.end() - C, q.end());
  attention<double>(step, last_q, k, v, 1, T, T - 1, NH, HS, Mask::causal, Parallel(1));
  EXPECT_EQ(step, std::vector<double>(full.end() - C, full.end()));
}

}  // namespace
}  // namespace gpt2::reference
