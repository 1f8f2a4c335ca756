// The batched operations a kernel set overrides (kernels.h, *_batch) against
// their naive twin, the Kernels default that calls the single-sequence
// operation row by row: bit for bit for the sets that declare batch
// invariance, over batch sizes and columns that leave every remainder of the
// GEMM's 6-row tiles, ragged real columns and both settings of the padding
// mask.
#include <gtest/gtest.h>

#include <random>

#include "model/batch.h"
#include "optimized/kernels.h"
#include "optimized/model_test_support.h"

namespace gpt2::optimized {
namespace {

using testing::describe;
using testing::random_weights;

struct Fixture {
  Config config;
  std::vector<BatchRow> rows;
  std::vector<KvCache> caches;
  BatchPass batch;
};

// B rows of T columns: row b has `count` real columns starting at `first`
// (drawn), a cache whose every slot holds a random key and value, its first
// real slot at key_begin and its real tokens at positions pos0 ...
Fixture make_fixture(const Config& config, int B, int T, bool decode, Mask mask, bool padding_mask,
                     std::mt19937_64& rng) {
  Fixture f;
  f.config = config;
  const int P = config.n_ctx;
  for (int b = 0; b < B; ++b) {
    BatchRow row;
    row.count = decode ? 1 : 1 + static_cast<int>(rng() % T);
    row.first = decode ? 0 : static_cast<int>(rng() % (T - row.count + 1));
    const int slot0 = static_cast<int>(rng() % (P - T + 1));
    const int pos0 = static_cast<int>(rng() % (slot0 + row.first + 1));
    row.key_begin = slot0 + row.first - pos0;  // slot of position p: key_begin + p
    row.slots = Pass{slot0, T, mask, decode};
    row.real = Pass{pos0, row.count, mask, decode};
    f.rows.push_back(row);
    KvCache cache(config);
    std::uniform_real_distribution<float> d(-1, 1);
    for (int l = 0; l < config.n_layer; ++l)
      for (int h = 0; h < config.n_head; ++h)
        for (int s = 0; s < P; ++s)
          for (int i = 0; i < config.head_size(); ++i) {
            cache.key(l, h, s)[i] = d(rng);
            cache.value(l, h, s)[i] = d(rng);
          }
    f.caches.push_back(std::move(cache));
  }
  f.batch = BatchPass{B,
                      T,
                      mask,
                      decode,
                      padding_mask,
                      padding_position_id(P),
                      f.rows,
                      config.n_embd,
                      config.vocab_size};
  return f;
}

std::vector<float> random_vector(size_t n, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> d(-2, 2);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(BatchKernels, OverridesEqualTheRowByRowDefaultBitForBit) {
  const Config config = make_config(2, 2, 34, 24, 40);  // HS = 17: SIMD tails, V over 3 panels
  const Weights<float> w = random_weights(config, 21);
  const int C = config.n_embd, V = config.vocab_size;
  ThreadPool pool(2);
  std::mt19937_64 rng(21);
  int cases = 0;
  for (const KernelSet& set : kernels()) {
    if (!set.batch_invariant) continue;
    auto k = set.create(w, pool);
    for (int B : {1, 2, 3, 5, 7, 13})
      for (int T : {1, 2, 5, 7}) {
        const bool decode = T == 1 && B % 2 == 1;
        for (Mask mask : {Mask::causal, Mask::none})
          for (bool padding_mask : {true, false}) {
            SCOPED_TRACE(::testing::Message()
                         << set.name << " " << describe(config) << " B=" << B << " T=" << T
                         << (decode ? " decode" : "") << " mask=" << mask_name(mask)
                         << " padding_mask=" << padding_mask);
            Fixture f =
                make_fixture(config, B, T, decode, decode ? Mask::causal : mask, padding_mask, rng);
            const BatchPass& batch = f.batch;
            const size_t N = size_t(B) * T;
            // Row-wise ops.
            const auto x = random_vector(N * 4 * C, rng);
            for (int p = 0; p < 4; ++p) {
              const auto proj = static_cast<Projection>(p);
              const size_t out = N * projection_out(config, proj);
              for (bool accumulate : {false, true}) {
                std::vector<float> a = random_vector(out, rng), b = a;
                k->project_batch(batch, 1, proj, x.data(), a.data(), accumulate);
                k->Kernels::project_batch(batch, 1, proj, x.data(), b.data(), accumulate);
                EXPECT_EQ(a, b) << "project " << p << " accumulate " << accumulate;
              }
            }
            std::vector<float> a(N * 4 * C), b(N * 4 * C);
            k->project_gelu_batch(batch, 0, x.data(), a.data());
            k->Kernels::project_gelu_batch(batch, 0, x.data(), b.data());
            EXPECT_EQ(a, b) << "project_gelu";
            a.assign(N * C, 0), b.assign(N * C, 0);
            k->layer_norm_batch(batch, 1, NormSite::ln_2, x.data(), a.data());
            k->Kernels::layer_norm_batch(batch, 1, NormSite::ln_2, x.data(), b.data());
            EXPECT_EQ(a, b) << "layer_norm";
            a.assign(N * V, 0), b.assign(N * V, 0);
            k->logits_batch(batch, x.data(), a.data());
            k->Kernels::logits_batch(batch, x.data(), b.data());
            EXPECT_EQ(a, b) << "logits";
            // Attention over the rows' caches.
            const auto qkv = random_vector(N * 3 * C, rng);
            a.assign(N * C, 7), b.assign(N * C, 7);
            k->attention_batch(batch, 1, qkv.data(), f.caches, a.data());
            k->Kernels::attention_batch(batch, 1, qkv.data(), f.caches, b.data());
            EXPECT_EQ(a, b) << "attention";
            ++cases;
          }
      }
  }
  EXPECT_GE(cases, 2 * 6 * 4 * 4);
}

}  // namespace
}  // namespace gpt2::optimized
