// The `example` kernel set: the smallest correct kernel set, as a template.
//
// Adding a kernel set to gpt2-oracle is one new file and nothing else:
//
//   1. Name it optimized/NAME_kernels.cpp (NAME: lower-case letters, digits, _).
//   2. Define a Kernels subclass (optimized/kernels.h lists the ops, their
//      shapes and the Pass each receives). Deriving from EigenKernels, as
//      here, gives a correct implementation of every op; override the ones
//      your set changes. A set written from scratch derives from Kernels and
//      implements its pure virtual ops.
//   3. Define `void register_NAME_kernels()` in namespace gpt2::optimized,
//      calling register_kernel_set once for each set the file adds.
//
// The build globs optimized/*_kernels.cpp and generates RegisterAllKernels(),
// the list of register functions, from the files it finds
// (optimized/CMakeLists.txt), so the next `cmake --build` compiles and
// registers the set: `gpt2-oracle kernels` lists it, and conformance,
// `fixtures verify`, replay and the property tests run it with no new test
// code. KernelRegistry.TheExampleSetIsAddedByItsFileAlone checks that nothing
// else in the repository names this file or its function.
//
// What this set changes: LayerNorm written as plain loops, two passes over
// each row (the mean, then the variance of the centred values), float32
// throughout. Every other op is EigenKernels'.
#include <cmath>

#include "optimized/eigen_kernels.h"

namespace gpt2::optimized {

namespace {

class ExampleKernels : public EigenKernels {
 public:
  using EigenKernels::EigenKernels;  // keeps its own copy of the weights in w_

  // y [rows, C] = (x - mean) / sqrt(var + eps) · weight + bias, per row, with
  // mean = Σ x / C and var = Σ (x - mean)² / C (biased, as GPT-2's LayerNorm).
  void layer_norm(const Pass&, int layer, NormSite site, const float* x, int rows,
                  float* y) override {
    const int C = w_.config.n_embd;
    const float eps = static_cast<float>(w_.config.layer_norm_epsilon);
    const std::vector<float>& weight = norm_weight(layer, site);  // [C]
    const std::vector<float>& bias = norm_bias(layer, site);      // [C]
    for (int t = 0; t < rows; ++t) {
      const float* in = x + size_t(t) * C;  // [C]
      float* out = y + size_t(t) * C;       // [C]
      float sum = 0.0f;
      for (int i = 0; i < C; ++i) sum += in[i];
      const float mean = sum / C;
      float squares = 0.0f;
      for (int i = 0; i < C; ++i) squares += (in[i] - mean) * (in[i] - mean);
      const float inverse_std = 1.0f / std::sqrt(squares / C + eps);
      for (int i = 0; i < C; ++i) out[i] = (in[i] - mean) * inverse_std * weight[i] + bias[i];
    }
  }
};

}  // namespace

void register_example_kernels() {
  register_kernel_set(
      KernelSet{"example",
                "the smallest correct set, a template to copy: eigen with a plain-loop LayerNorm "
                "(optimized/example_kernels.cpp)",
                // The factory: builds the kernels for one engine (or one replay) on
                // `weights`; `pool` runs threaded work, for sets that have any.
                [](const Weights<float>& weights, ThreadPool&) -> std::unique_ptr<Kernels> {
                  return std::make_unique<ExampleKernels>(weights);
                },
                // effective_weights: empty, the set computes on the weights as given
                // (a set that rounds them, like bf16, returns the rounded copy here).
                {}});
}

}  // namespace gpt2::optimized
