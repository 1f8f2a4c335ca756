#include "oracle/ordered_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>
#include <memory>
#include <numeric>
#include <vector>

#include "model/error.h"
#include "model/init.h"

namespace gpt2::oracle {

using optimized::KernelSet;
using optimized::KvCache;
using optimized::NormSite;
using optimized::Pass;
using optimized::Projection;

std::string SummationOrder::describe() const {
  std::string s;
  switch (order) {
    case SumOrder::ascending:
      s = "ascending";
      break;
    case SumOrder::descending:
      s = "descending";
      break;
    case SumOrder::pairwise:
      s = "pairwise";
      break;
    case SumOrder::permuted:
      s = "permuted (seed " + std::to_string(seed) + ")";
      break;
    case SumOrder::lanes:
      s = std::to_string(width) + " lanes";
      break;
    case SumOrder::blocked:
      s = "blocks of " + std::to_string(width);
      break;
  }
  if (fma) s += ", fma";
  if (epilogue == Epilogue::sum_residual_bias) s += ", residual before bias";
  if (epilogue == Epilogue::bias_first) s += ", bias first";
  if (online_softmax) s += ", online softmax";
  if (scale_queries) s += ", scaled queries";
  return s;
}

namespace {

// Sums in one SummationOrder: init + Σ_i a[i·sa]·b[i·sb] (b == nullptr: the
// terms are a[i·sa] themselves).
class Reducer {
 public:
  explicit Reducer(const SummationOrder& order) : o_(order) {}

  float sum(const float* a, std::ptrdiff_t sa, const float* b, std::ptrdiff_t sb, int n,
            float init) const {
    auto product = [&](int i) { return b ? a[i * sa] * b[i * sb] : a[i * sa]; };
    // acc + t_i, with the product fused into the addition when o_.fma.
    auto add = [&](float acc, int i) {
      return b && o_.fma ? std::fma(a[i * sa], b[i * sb], acc) : acc + product(i);
    };
    switch (o_.order) {
      case SumOrder::ascending: {
        float acc = init;
        for (int i = 0; i < n; ++i) acc = add(acc, i);
        return acc;
      }
      case SumOrder::descending: {
        float acc = init;
        for (int i = n - 1; i >= 0; --i) acc = add(acc, i);
        return acc;
      }
      case SumOrder::permuted: {
        const std::vector<int>& p = permutation(n);
        float acc = init;
        for (int i = 0; i < n; ++i) acc = add(acc, p[i]);
        return acc;
      }
      case SumOrder::pairwise:
        return n == 0 ? init : init + pairwise(product, add, 0, n);
      case SumOrder::lanes: {
        std::vector<float> lane(std::max(1, o_.width), 0.0f);
        for (int i = 0; i < n; ++i) lane[i % lane.size()] = add(lane[i % lane.size()], i);
        // Horizontal add by halving: lane j += lane j + half.
        for (size_t live = lane.size(); live > 1;) {
          const size_t half = (live + 1) / 2;
          for (size_t j = 0; j + half < live; ++j) lane[j] += lane[j + half];
          live = half;
        }
        return init + lane[0];
      }
      case SumOrder::blocked: {
        const int block = std::max(1, o_.width);
        float acc = init;
        for (int start = 0; start < n; start += block) {
          float partial = 0;
          for (int i = start; i < std::min(n, start + block); ++i) partial = add(partial, i);
          acc += partial;
        }
        return acc;
      }
    }
    return init;
  }

 private:
  template <class Product, class Add>
  float pairwise(const Product& product, const Add& add, int begin, int end) const {
    if (end - begin == 1) return product(begin);
    if (end - begin == 2) return add(product(begin), begin + 1);
    const int middle = begin + (end - begin) / 2;
    return pairwise(product, add, begin, middle) + pairwise(product, add, middle, end);
  }

  // A fixed permutation of 0 .. n-1 for this order's seed (Fisher-Yates
  // with the counter-based generator of model/init.h).
  const std::vector<int>& permutation(int n) const {
    auto& p = permutations_[n];
    if (p.empty() && n > 0) {
      p.resize(n);
      std::iota(p.begin(), p.end(), 0);
      for (int i = n - 1; i > 0; --i) {
        const uint64_t r = mix64(o_.seed * 0x9e3779b97f4a7c15ull + uint64_t(n) * 1000003 + i);
        std::swap(p[i], p[static_cast<int>(r % uint64_t(i + 1))]);
      }
    }
    return p;
  }

  SummationOrder o_;
  mutable std::map<int, std::vector<int>> permutations_;
};

// The kernels: plain float32 loops, one per op of kernels.h, every sum
// through the Reducer. Weights of the projections are kept transposed ([out,
// in]) so that each dot product reads contiguous memory.
class OrderedKernels : public optimized::Kernels {
 public:
  OrderedKernels(const Weights<float>& w, const SummationOrder& order)
      : w_(w), order_(order), reduce_(order) {
    const int C = w.config.n_embd;
    for (const auto& b : w.blocks) {
      transposed_.push_back(transpose(b.attn_c_attn_weight, C, 3 * C));
      transposed_.push_back(transpose(b.attn_c_proj_weight, C, C));
      transposed_.push_back(transpose(b.mlp_c_fc_weight, C, 4 * C));
      transposed_.push_back(transpose(b.mlp_c_proj_weight, 4 * C, C));
    }
  }

  // x [T, C] = wte[token] + wpe[position]: one rounding, no order.
  void embed(const Pass& pass, const int* tokens, float* x) override {
    const int C = w_.config.n_embd;
    for (int t = 0; t < pass.n_tokens; ++t)
      for (int c = 0; c < C; ++c)
        x[size_t(t) * C + c] =
            w_.wte[size_t(tokens[t]) * C + c] + w_.wpe[size_t(pass.pos0 + t) * C + c];
  }

  // mean = Σ x / C;  var = Σ (x - mean)² / C;  y = (x - mean)·rstd·g + b
  void layer_norm(const Pass&, int layer, NormSite site, const float* x, int rows,
                  float* y) override {
    const int C = w_.config.n_embd;
    const float eps = static_cast<float>(w_.config.layer_norm_epsilon);
    const std::vector<float>& g = site == NormSite::ln_1   ? w_.blocks[layer].ln_1_weight
                                  : site == NormSite::ln_2 ? w_.blocks[layer].ln_2_weight
                                                           : w_.ln_f_weight;
    const std::vector<float>& b = site == NormSite::ln_1   ? w_.blocks[layer].ln_1_bias
                                  : site == NormSite::ln_2 ? w_.blocks[layer].ln_2_bias
                                                           : w_.ln_f_bias;
    std::vector<float> centered(C);
    for (int r = 0; r < rows; ++r) {
      const float* row = x + size_t(r) * C;
      const float mean = reduce_.sum(row, 1, nullptr, 0, C, 0.0f) / static_cast<float>(C);
      for (int c = 0; c < C; ++c) centered[c] = row[c] - mean;
      const float var =
          reduce_.sum(centered.data(), 1, centered.data(), 1, C, 0.0f) / static_cast<float>(C);
      const float rstd = 1.0f / std::sqrt(var + eps);
      for (int c = 0; c < C; ++c)
        y[size_t(r) * C + c] = order_.fma ? std::fma(centered[c] * rstd, g[c], b[c])
                                          : centered[c] * rstd * g[c] + b[c];
    }
  }

  void project(const Pass& pass, int layer, Projection p, const float* x, float* y,
               bool accumulate) override {
    const int in = optimized::projection_in(w_.config, p);
    const int out = optimized::projection_out(w_.config, p);
    const std::vector<float>& wt = transposed_[size_t(layer) * 4 + static_cast<int>(p)];
    const std::vector<float>& bias = projection_bias(layer, p);
    for (int t = 0; t < pass.n_tokens; ++t)
      for (int j = 0; j < out; ++j) {
        float& dst = y[size_t(t) * out + j];
        const float old = accumulate ? dst : 0.0f;
        const float* xr = x + size_t(t) * in;
        const float* wr = wt.data() + size_t(j) * in;
        switch (order_.epilogue) {
          case Epilogue::sum_bias_residual: {
            const float s = reduce_.sum(xr, 1, wr, 1, in, 0.0f) + bias[j];
            dst = accumulate ? old + s : s;
            break;
          }
          case Epilogue::sum_residual_bias: {
            const float s = reduce_.sum(xr, 1, wr, 1, in, 0.0f);
            dst = (accumulate ? old + s : s) + bias[j];
            break;
          }
          case Epilogue::bias_first:
            dst = reduce_.sum(xr, 1, wr, 1, in, accumulate ? old + bias[j] : bias[j]);
            break;
        }
      }
  }

  void project_gelu(const Pass& pass, int layer, const float* x, float* y) override {
    project(pass, layer, Projection::fc, x, y, false);
    gelu(y, size_t(pass.n_tokens) * 4 * w_.config.n_embd);
  }

  // gelu_new(x) = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))); with fma the
  // cubic is fused: fma(0.044715·x², x, x).
  void gelu(float* x, size_t n) override {
    const float k = static_cast<float>(std::sqrt(2.0 / M_PI));
    for (size_t i = 0; i < n; ++i) {
      const float v = x[i];
      const float inner =
          order_.fma ? std::fma(0.044715f * v * v, v, v) : v + 0.044715f * v * v * v;
      x[i] = 0.5f * v * (1.0f + std::tanh(k * inner));
    }
  }

  void attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                 float* out) override {
    const int C = w_.config.n_embd, NH = w_.config.n_head, HS = w_.config.head_size();
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    std::vector<float> q(HS), p, o(HS);
    for (int t = 0; t < pass.n_tokens; ++t) {
      const int pos = pass.pos0 + t;
      const int n = visible_keys(pass.mask, pos, pass.end());  // keys 0 .. n-1
      for (int h = 0; h < NH; ++h) {
        for (int d = 0; d < HS; ++d)
          q[d] = qkv[size_t(t) * 3 * C + h * HS + d] * (order_.scale_queries ? scale : 1.0f);
        auto score = [&](int j) {
          const float dot = reduce_.sum(q.data(), 1, cache.key(layer, h, j), 1, HS, 0.0f);
          return order_.scale_queries ? dot : dot * scale;
        };
        float* result = out + size_t(t) * C + h * HS;
        if (order_.online_softmax) {
          // m: running max; l: running Σ exp(s - m); o: running Σ exp(s - m)·v.
          float m = -INFINITY, l = 0;
          std::fill(o.begin(), o.end(), 0.0f);
          for (int j = 0; j < n; ++j) {
            const float s = score(j);
            const float m_new = std::max(m, s);
            const float alpha = std::exp(m - m_new), e = std::exp(s - m_new);
            l = l * alpha + e;
            const float* v = cache.value(layer, h, j);
            for (int d = 0; d < HS; ++d)
              o[d] = order_.fma ? std::fma(e, v[d], o[d] * alpha) : o[d] * alpha + e * v[d];
            m = m_new;
          }
          for (int d = 0; d < HS; ++d) result[d] = o[d] / l;
          continue;
        }
        p.resize(n);
        float m = -INFINITY;
        for (int j = 0; j < n; ++j) m = std::max(m, p[j] = score(j));
        for (int j = 0; j < n; ++j) p[j] = std::exp(p[j] - m);
        const float sum = reduce_.sum(p.data(), 1, nullptr, 0, n, 0.0f);
        for (int j = 0; j < n; ++j) p[j] /= sum;
        // Values of one head are [P, HS] in the cache: value j, channel d at j·HS + d.
        for (int d = 0; d < HS; ++d)
          result[d] = reduce_.sum(p.data(), 1, cache.value(layer, h, 0) + d, HS, n, 0.0f);
      }
    }
  }

  void logits(const Pass&, const float* x, int rows, float* out) override {
    const int C = w_.config.n_embd, V = w_.config.vocab_size;
    for (int r = 0; r < rows; ++r)
      for (int v = 0; v < V; ++v)
        out[size_t(r) * V + v] =
            reduce_.sum(x + size_t(r) * C, 1, w_.wte.data() + size_t(v) * C, 1, C, 0.0f);
  }

  size_t weight_bytes_per_token() const override {
    size_t n = w_.wte.size();
    for (const auto& t : transposed_) n += t.size();
    return n * sizeof(float);
  }

 private:
  // [rows, cols] -> [cols, rows]
  static std::vector<float> transpose(const std::vector<float>& m, int rows, int cols) {
    std::vector<float> t(m.size());
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) t[size_t(c) * rows + r] = m[size_t(r) * cols + c];
    return t;
  }

  const std::vector<float>& projection_bias(int layer, Projection p) const {
    const auto& b = w_.blocks[layer];
    switch (p) {
      case Projection::qkv:
        return b.attn_c_attn_bias;
      case Projection::attn_proj:
        return b.attn_c_proj_bias;
      case Projection::fc:
        return b.mlp_c_fc_bias;
      case Projection::mlp_proj:
        return b.mlp_c_proj_bias;
    }
    GPT2_CHECK(false, "unknown projection");
  }

  Weights<float> w_;
  SummationOrder order_;
  Reducer reduce_;
  std::vector<std::vector<float>> transposed_;  // per block: qkv, attn_proj, fc, mlp_proj
};

}  // namespace

KernelSet ordered_kernel_set(const std::string& name, const SummationOrder& order) {
  KernelSet set;
  set.name = name;
  set.description = "float32, every sum in order: " + order.describe();
  set.create = [order](const Weights<float>& w, optimized::ThreadPool&) {
    return std::unique_ptr<optimized::Kernels>(new OrderedKernels(w, order));
  };
  return set;
}

}  // namespace gpt2::oracle
