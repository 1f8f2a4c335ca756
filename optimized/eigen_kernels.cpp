#include "optimized/eigen_kernels.h"

#include <Eigen/Dense>
#include <cmath>

#include "model/error.h"

namespace gpt2::optimized {

namespace {
using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMatrix = Eigen::Map<RowMatrix>;
using ConstMapMatrix = Eigen::Map<const RowMatrix>;
using ConstMapVector = Eigen::Map<const Eigen::VectorXf>;
using ConstMapRow = Eigen::Map<const Eigen::RowVectorXf>;
// A [rows, cols] block of a row-major matrix whose rows are `stride` apart.
using StridedMap = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
}  // namespace

EigenKernels::EigenKernels(const Weights<float>& weights) : w_(weights) {}

int EigenKernels::visible_keys(const Pass& pass, int pos) const {
  return gpt2::visible_keys(pass.mask, pos, pass.end());
}

float EigenKernels::score_scale() const {
  return 1.0f / std::sqrt(static_cast<float>(w_.config.head_size()));
}

void EigenKernels::softmax(float* scores, int n) const {
  Eigen::Map<Eigen::VectorXf> s(scores, n);
  s = (s.array() - s.maxCoeff()).exp();  // max subtracted: exp never overflows
  s /= s.sum();
}

float EigenKernels::inverse_std(int, NormSite, float variance, float eps) const {
  return 1.0f / std::sqrt(variance + eps);
}

const std::vector<float>& EigenKernels::norm_weight(int layer, NormSite site) const {
  switch (site) {
    case NormSite::ln_1:
      return w_.blocks[layer].ln_1_weight;
    case NormSite::ln_2:
      return w_.blocks[layer].ln_2_weight;
    case NormSite::ln_f:
      return w_.ln_f_weight;
  }
  GPT2_CHECK(false, "unknown norm site");
}

const std::vector<float>& EigenKernels::norm_bias(int layer, NormSite site) const {
  switch (site) {
    case NormSite::ln_1:
      return w_.blocks[layer].ln_1_bias;
    case NormSite::ln_2:
      return w_.blocks[layer].ln_2_bias;
    case NormSite::ln_f:
      return w_.ln_f_bias;
  }
  GPT2_CHECK(false, "unknown norm site");
}

const std::vector<float>& EigenKernels::projection_weight(int layer, Projection p) const {
  const auto& b = w_.blocks[layer];
  switch (p) {
    case Projection::qkv:
      return b.attn_c_attn_weight;
    case Projection::attn_proj:
      return b.attn_c_proj_weight;
    case Projection::fc:
      return b.mlp_c_fc_weight;
    case Projection::mlp_proj:
      return b.mlp_c_proj_weight;
  }
  GPT2_CHECK(false, "unknown projection");
}

const std::vector<float>& EigenKernels::projection_bias(int layer, Projection p) const {
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

void EigenKernels::embed(const Pass& pass, const int* tokens, float* x) {
  const int C = w_.config.n_embd;
  MapMatrix out(x, pass.n_tokens, C);
  ConstMapMatrix wte(w_.wte.data(), w_.config.vocab_size, C);
  ConstMapMatrix wpe(w_.wpe.data(), w_.config.n_ctx, C);
  for (int t = 0; t < pass.n_tokens; ++t) out.row(t) = wte.row(tokens[t]) + wpe.row(pass.pos0 + t);
}

void EigenKernels::layer_norm(const Pass&, int layer, NormSite site, const float* x, int rows,
                              float* y) {
  const int C = w_.config.n_embd;
  const float eps = static_cast<float>(w_.config.layer_norm_epsilon);
  ConstMapRow gamma(norm_weight(layer, site).data(), C), beta(norm_bias(layer, site).data(), C);
  ConstMapMatrix in(x, rows, C);
  MapMatrix out(y, rows, C);
  for (int t = 0; t < rows; ++t) {
    const float mean = in.row(t).mean();
    const Eigen::RowVectorXf centered = in.row(t).array() - mean;
    const float var = centered.squaredNorm() / C;  // biased variance, as in GPT-2
    out.row(t) = (centered * inverse_std(layer, site, var, eps)).cwiseProduct(gamma) + beta;
  }
}

void EigenKernels::project(const Pass& pass, int layer, Projection p, const float* x, float* y,
                           bool accumulate) {
  const int in = projection_in(w_.config, p), out = projection_out(w_.config, p);
  ConstMapMatrix X(x, pass.n_tokens, in), W(projection_weight(layer, p).data(), in, out);
  ConstMapRow b(projection_bias(layer, p).data(), out);
  MapMatrix Y(y, pass.n_tokens, out);
  if (accumulate) {
    Y.noalias() += X * W;
  } else {
    Y.noalias() = X * W;
  }
  Y.rowwise() += b;
}

void EigenKernels::project_gelu(const Pass& pass, int layer, const float* x, float* y) {
  project(pass, layer, Projection::fc, x, y, false);
  gelu(y, size_t(pass.n_tokens) * 4 * w_.config.n_embd);
}

void EigenKernels::attention(const Pass& pass, int layer, const float* qkv, const KvCache& cache,
                             float* out) {
  const int C = w_.config.n_embd, NH = w_.config.n_head, HS = w_.config.head_size();
  const float scale = score_scale();
  for (int t = 0; t < pass.n_tokens; ++t) {
    const int n = visible_keys(pass, pass.pos0 + t);
    for (int h = 0; h < NH; ++h) {
      if (n <= 0) {  // no visible key (only a variant's visible_keys can say so)
        Eigen::Map<Eigen::RowVectorXf>(out + size_t(t) * C + h * HS, HS).setZero();
        continue;
      }
      ConstMapVector q(qkv + size_t(t) * 3 * C + h * HS, HS);  // [HS]
      ConstMapMatrix K(cache.key(layer, h, 0), n, HS);         // [n, HS]
      ConstMapMatrix V(cache.value(layer, h, 0), n, HS);       // [n, HS]
      Eigen::VectorXf scores = (K * q) * scale;                // [n]
      softmax(scores.data(), n);
      Eigen::Map<Eigen::RowVectorXf>(out + size_t(t) * C + h * HS, HS) = scores.transpose() * V;
    }
  }
}

void EigenKernels::logits(const Pass&, const float* x, int rows, float* out) {
  const int C = w_.config.n_embd, V = w_.config.vocab_size;
  ConstMapMatrix X(x, rows, C), wte(w_.wte.data(), V, C);
  MapMatrix(out, rows, V).noalias() = X * wte.transpose();
}

size_t EigenKernels::weight_bytes_per_token() const {
  size_t n = w_.wte.size();
  for (const auto& b : w_.blocks)
    n += b.attn_c_attn_weight.size() + b.attn_c_proj_weight.size() + b.mlp_c_fc_weight.size() +
         b.mlp_c_proj_weight.size();
  return n * sizeof(float);
}

void register_eigen_kernels() {
  register_kernel_set(
      KernelSet{"eigen",
                "straightforward Eigen float32, single-threaded: the readable baseline",
                [](const Weights<float>& w, ThreadPool&) -> std::unique_ptr<Kernels> {
                  return std::make_unique<EigenKernels>(w);
                },
                {}});
}

}  // namespace gpt2::optimized
