// The definition of reference::forward<Real>. Included only by the .cpp files
// that instantiate it (forward_native.cpp, forward_multiprecision.cpp,
// forward_real_weights.cpp, and the oracle's StochasticFloat runs).
//
// A GPT-2 block (nanoGPT Block.forward, Hugging Face GPT2Block):
//   x = x + c_proj(attention(ln_1(x)))
//   x = x + mlp_c_proj(gelu_new(c_fc(ln_2(x))))
// Full mode runs every block on all T rows at once; incremental mode runs
// position by position and keeps each block's keys and values in a cache.
// Both call the same per-equation functions (layers.h, attention.h); only
// the loop over positions and the cache differ.
//
// Under a precision profile (Options::profile, model/profile.h) the same
// equations run with the profile's roundings at its points, each marked
// "profile: <field>" below (reference/rounding.h): the residual stream as it
// is kept (embed, mid, block.{l}), the activation operand of every projection
// and of lm_head (a rounded copy: the trace keeps the op's own output), the
// keys and values attention reads (the cache holds them rounded), the
// attention probabilities (attention.h) and the GELU table (layers.h).
#pragma once

#include <chrono>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/error.h"
#include "model/tokens.h"
#include "reference/attention.h"
#include "reference/forward.h"
#include "reference/layers.h"
#include "reference/parallel.h"
#include "reference/rounding.h"

namespace gpt2::reference {
namespace detail {

// Keys and values of one block for the positions computed so far (rounded
// as a profile's kv_cache point stores them).
template <class Real>
struct KvCache {
  std::vector<Real> keys;    // [positions so far, C]
  std::vector<Real> values;  // [positions so far, C]
};

// [T, 3C] -> q, k, v: [T, C] each (the columns of c_attn's output are q, k, v;
// GPT-2's qkv.split(n_embd, dim=2)).
template <class Real>
void split_qkv(std::vector<Real>& q, std::vector<Real>& k, std::vector<Real>& v,
               const std::vector<Real>& qkv, int T, int C) {
  q.assign(static_cast<size_t>(T) * C, Real(0));
  k.assign(static_cast<size_t>(T) * C, Real(0));
  v.assign(static_cast<size_t>(T) * C, Real(0));
  for (int t = 0; t < T; ++t) {
    const size_t row = static_cast<size_t>(t) * 3 * C;
    for (int c = 0; c < C; ++c) {
      q[static_cast<size_t>(t) * C + c] = qkv[row + c];
      k[static_cast<size_t>(t) * C + c] = qkv[row + C + c];
      v[static_cast<size_t>(t) * C + c] = qkv[row + 2 * C + c];
    }
  }
}

// A padded batch in full mode (model/batch.h): the Tq = B·W rows of x are B
// rows of W columns each; real[r·W + c] is the attention mask.
struct PaddedRows {
  int rows = 0;              // B
  int width = 0;             // W
  std::vector<char> real;    // [B, W]
  bool padding_mask = true;  // false: padding keys are visible like real ones
};

// One block on the Tq rows of x, at absolute positions first_position ..
// first_position + Tq - 1.  x: [Tq, C], updated in place.
// cache == nullptr: full mode, the keys are this pass's own (first_position
// must be 0). Otherwise the rows' keys and values are appended to the cache
// and the queries attend over all cached positions.
// padded != nullptr: full mode over a padded batch, each row's queries
// attending over that row's keys (padded_attention).
// ops != nullptr: receives the pass's rows of the six op tensors (model/trace.h).
// profile: the activations' rounding points (nullptr: none); x is taken and
// left as the profile keeps the residual stream.
template <class Real, class Weight>
void block_forward(std::vector<Real>& x, const BlockWeights<Weight>& b, const Config& config,
                   int Tq, int first_position, KvCache<Real>* cache, Mask mask,
                   const Parallel& parallel, BlockOps<Real>* ops = nullptr,
                   const PaddedRows* padded = nullptr, const Profile* profile = nullptr) {
  const int C = config.n_embd, NH = config.n_head, HS = config.head_size();
  const double eps = config.layer_norm_epsilon;
  const Profile& rounding = profile_or_f32(profile);
  std::vector<Real> normed, qkv, q, k, v, a, projected, hidden;
  std::vector<Real> operand;  // a projection's rounded input (profile: matmul_inputs)

  // x = x + c_proj(attention(ln_1(x)))
  // normed: [Tq, C];  qkv: [Tq, 3C];  q, k, v: [Tq, C];  a, projected: [Tq, C]
  layer_norm(normed, x, b.ln_1_weight, b.ln_1_bias, Tq, C, eps);
  linear(qkv, matmul_input(normed, rounding.matmul_inputs, operand),  // profile: matmul_inputs
         b.attn_c_attn_weight, b.attn_c_attn_bias, Tq, C, 3 * C, parallel);
  if (ops) ops->ln_1 = normed, ops->qkv = qkv;
  split_qkv(q, k, v, qkv, Tq, C);
  // Keys and values as the cache stores them, in every mode: attention reads
  // these (the trace's qkv keeps them unrounded; queries are never rounded).
  round_in_place(k, rounding.kv_cache);                        // profile: kv_cache
  round_in_place(v, rounding.kv_cache);                        // profile: kv_cache
  const FloatFormat probabilities = rounding.attention_probs;  // profile: attention_probs
  if (padded != nullptr) {
    GPT2_CHECK(cache == nullptr && Tq == padded->rows * padded->width, "a padded batch is B x W");
    a.assign(static_cast<size_t>(Tq) * C, Real(0));
    for (int r = 0; r < padded->rows; ++r) {
      const size_t row = static_cast<size_t>(r) * padded->width;
      padded_attention(&a[row * C], &q[row * C], &k[row * C], &v[row * C], &padded->real[row],
                       padded->width, NH, HS, mask, padded->padding_mask, parallel, probabilities);
    }
  } else if (cache == nullptr) {
    GPT2_CHECK(first_position == 0, "full mode starts at position 0");
    attention(a, q, k, v, Tq, Tq, first_position, NH, HS, mask, parallel, probabilities);
  } else {
    // cache->keys, cache->values: [first_position, C] -> [first_position + Tq, C]
    GPT2_CHECK(cache->keys.size() == static_cast<size_t>(first_position) * C,
               "the cache holds every earlier position");
    cache->keys.insert(cache->keys.end(), k.begin(), k.end());
    cache->values.insert(cache->values.end(), v.begin(), v.end());
    attention(a, q, cache->keys, cache->values, Tq, first_position + Tq, first_position, NH, HS,
              mask, parallel, probabilities);
  }
  linear(projected, matmul_input(a, rounding.matmul_inputs, operand),  // profile: matmul_inputs
         b.attn_c_proj_weight, b.attn_c_proj_bias, Tq, C, C, parallel);
  add_in_place(x, projected);
  round_in_place(x, rounding.residual);  // profile: residual (mid)
  if (ops) ops->attn = a, ops->mid = x;

  // x = x + mlp_c_proj(gelu_new(c_fc(ln_2(x))))
  // normed: [Tq, C];  hidden: [Tq, 4C];  projected: [Tq, C]
  layer_norm(normed, x, b.ln_2_weight, b.ln_2_bias, Tq, C, eps);
  // In a team: each rank's columns of c_fc through GELU, then one exchange.
  linear(hidden, matmul_input(normed, rounding.matmul_inputs, operand),  // profile: matmul_inputs
         b.mlp_c_fc_weight, b.mlp_c_fc_bias, Tq, C, 4 * C, parallel, false);
  if (rounding.gelu == GeluForm::table_f16)
    gelu_owned_columns(hidden, Tq, 4 * C, parallel, GeluTableF16<Real>());  // profile: gelu
  else
    gelu_owned_columns(hidden, Tq, 4 * C, parallel, GeluTanh<Real>());
  share_owned_columns(parallel, hidden, Tq, 4 * C, kLinearColumnBlock);
  if (ops) ops->ln_2 = normed, ops->gelu = hidden;
  linear(projected,
         matmul_input(hidden, rounding.matmul_inputs, operand),  // profile: matmul_inputs
         b.mlp_c_proj_weight, b.mlp_c_proj_bias, Tq, 4 * C, C, parallel);
  add_in_place(x, projected);
  round_in_place(x, rounding.residual);  // profile: residual (block.{l})
}

// Copies rows [Tq, C] of `from` into rows first_row .. of `to` ([T, C]).
template <class Real>
void store_rows(std::vector<Real>& to, const std::vector<Real>& from, int first_row, int width) {
  std::copy(from.begin(), from.end(), to.begin() + static_cast<size_t>(first_row) * width);
}

// Copies one pass's op tensors (rows [Tq, ·]) into `to` at row first_row.
template <class Real>
void store_op_rows(BlockOps<Real>& to, const BlockOps<Real>& from, int first_row, int C) {
  store_rows(to.ln_1, from.ln_1, first_row, C);
  store_rows(to.qkv, from.qkv, first_row, 3 * C);
  store_rows(to.attn, from.attn, first_row, C);
  store_rows(to.mid, from.mid, first_row, C);
  store_rows(to.ln_2, from.ln_2, first_row, C);
  store_rows(to.gelu, from.gelu, first_row, 4 * C);
}

// Progress lines on stderr: "reference (precision 50, full): block 3/12, 41.2 s".
class Progress {
 public:
  Progress(bool enabled, const char* scalar, Mode mode)
      : enabled_(enabled),
        label_(std::string("reference (precision ") + scalar + ", " + mode_name(mode) + ")"),
        start_(std::chrono::steady_clock::now()) {}
  void report(const std::string& where) const {
    if (!enabled_) return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::fprintf(stderr, "%s: %s, %.1f s\n", label_.c_str(), where.c_str(), seconds);
  }

 private:
  bool enabled_;
  std::string label_;
  std::chrono::steady_clock::time_point start_;
};

// Every tensor has the size its config says (the loaders validate this; a
// mismatch here is a bug).
template <class Weight>
void check_weight_shapes(const Weights<Weight>& weights) {
  GPT2_CHECK(weights.blocks.size() == static_cast<size_t>(weights.config.n_layer),
             "one BlockWeights per layer");
  for_each_tensor(weights,
                  [](const std::string& name, const std::vector<Weight>& t, const Shape& shape) {
                    GPT2_CHECK(static_cast<int64_t>(t.size()) == element_count(shape),
                               name + " does not have the shape of the config");
                  });
}

}  // namespace detail

template <class Real, class Weight>
std::vector<Trace<Real>> forward_batch(const Weights<Weight>& weights,
                                       const std::vector<std::vector<int>>& rows, Padding padding,
                                       const Options& options) {
  const Config& config = weights.config;
  validate_batch(rows, config, "batch");
  if (options.mode != Mode::full)
    throw InputError(std::string("reference: a batch runs in mode 'full', not '") +
                     mode_name(options.mode) + "'");
  detail::check_weight_shapes(weights);

  // The rectangle [B, W] (model/batch.h): N = B·W rows through every equation.
  const BatchLayout layout(row_lengths(rows), padding);
  const int B = layout.rows(), W = layout.width(), N = B * W;
  const int C = config.n_embd, V = config.vocab_size, L = config.n_layer;
  const std::vector<int> tokens = layout.padded(rows);
  std::vector<int> positions(N);
  detail::PaddedRows padded{B, W, std::vector<char>(N), options.padding_mask};
  for (int r = 0; r < B; ++r)
    for (int c = 0; c < W; ++c) {
      positions[r * W + c] = layout.position_id(r, c, config.n_ctx);
      padded.real[r * W + c] = layout.is_real(r, c);
    }
  const Parallel parallel(options.threads);
  const detail::Progress progress(options.progress, scalar_name<Real>(), Mode::full);
  const bool ops_level = options.trace_level == TraceLevel::ops;
  const Profile& rounding = profile_or_f32(options.profile);
  Trace<Real> rectangle = make_trace<Real>(config, N, options.trace_level);

  // x: [N, C], the residual stream of every column of every row
  std::vector<Real> x;
  embedding_at(x, std::span<const int>(tokens), std::span<const int>(positions), weights.wte,
               weights.wpe, C);
  round_in_place(x, rounding.residual);  // profile: residual (embed)
  rectangle.embed = x;
  for (int l = 0; l < L; ++l) {
    detail::block_forward<Real>(x, weights.blocks[l], config, N, 0, nullptr, options.mask, parallel,
                                ops_level ? &rectangle.ops[l] : nullptr, &padded, options.profile);
    rectangle.block[l] = x;
    progress.report("block " + std::to_string(l + 1) + "/" + std::to_string(L));
  }
  // ln_f: [N, C];  logits: [N, V]
  layer_norm(rectangle.ln_f, x, weights.ln_f_weight, weights.ln_f_bias, N, C,
             config.layer_norm_epsilon);
  std::vector<Real> operand;
  logits(rectangle.logits, matmul_input(rectangle.ln_f, rounding.matmul_inputs, operand),
         weights.wte, N, C, V, parallel);  // profile: matmul_inputs
  // Each row's real columns, in order: its trace at positions 0 .. n_r - 1.
  std::vector<Trace<Real>> out;
  out.reserve(B);
  for (int r = 0; r < B; ++r)
    out.push_back(trace_rows(rectangle, r * W + layout.first_column(r), layout.length(r)));
  return out;
}

template <class Real, class Weight>
Trace<Real> forward(const Weights<Weight>& weights, const std::vector<int>& tokens,
                    const Options& options) {
  const Config& config = weights.config;
  validate_tokens(tokens, config, "tokens");
  if (options.mode == Mode::chunked)
    throw InputError(
        "reference: mode 'chunked' is not available; the reference runs 'full' or "
        "'incremental' (chunked prefill is an engine mode: compare it against the reference's "
        "full mode)");
  detail::check_weight_shapes(weights);

  const int T = static_cast<int>(tokens.size()), C = config.n_embd, V = config.vocab_size;
  const int L = config.n_layer;
  // A team splits the multiprecision passes only (reference/team.h).
  const Team* team = options.team ? options.team : ambient_team();
  const Parallel parallel(options.threads, is_mpfr_v<Real> ? team : nullptr);
  const bool speaks = !parallel.team() || parallel.team()->rank() == 0;  // one line, not N
  const detail::Progress progress(options.progress && speaks, scalar_name<Real>(), options.mode);
  const bool ops_level = options.trace_level == TraceLevel::ops;
  const Profile& rounding = profile_or_f32(options.profile);
  Trace<Real> trace = make_trace<Real>(config, T, options.trace_level);
  std::vector<Real> x, final_normed, row_logits;
  std::vector<Real> operand;  // lm_head's rounded input (profile: matmul_inputs)

  if (options.mode == Mode::full) {
    // x: [T, C], the residual stream of all positions
    embedding(x, std::span<const int>(tokens), 0, weights.wte, weights.wpe, C);
    round_in_place(x, rounding.residual);  // profile: residual (embed)
    trace.embed = x;
    for (int l = 0; l < L; ++l) {
      detail::block_forward<Real>(x, weights.blocks[l], config, T, 0, nullptr, options.mask,
                                  parallel, ops_level ? &trace.ops[l] : nullptr, nullptr,
                                  options.profile);
      trace.block[l] = x;
      progress.report("block " + std::to_string(l + 1) + "/" + std::to_string(L));
    }
    // ln_f: [T, C];  logits: [T, V]
    layer_norm(trace.ln_f, x, weights.ln_f_weight, weights.ln_f_bias, T, C,
               config.layer_norm_epsilon);
    logits(trace.logits, matmul_input(trace.ln_f, rounding.matmul_inputs, operand), weights.wte, T,
           C, V, parallel);  // profile: matmul_inputs
    return trace;
  }

  // Mode::incremental: position p sees the cache of positions 0 .. p.
  // x, final_normed: [1, C], the residual stream of position p;  row_logits: [1, V]
  std::vector<detail::KvCache<Real>> cache(L);
  BlockOps<Real> row_ops;  // one position's op tensors
  for (int p = 0; p < T; ++p) {
    embedding(x, std::span<const int>(tokens).subspan(p, 1), p, weights.wte, weights.wpe, C);
    round_in_place(x, rounding.residual);  // profile: residual (embed)
    detail::store_rows(trace.embed, x, p, C);
    for (int l = 0; l < L; ++l) {
      detail::block_forward(x, weights.blocks[l], config, 1, p, &cache[l], options.mask, parallel,
                            ops_level ? &row_ops : nullptr, nullptr, options.profile);
      detail::store_rows(trace.block[l], x, p, C);
      if (ops_level) detail::store_op_rows(trace.ops[l], row_ops, p, C);
    }
    layer_norm(final_normed, x, weights.ln_f_weight, weights.ln_f_bias, 1, C,
               config.layer_norm_epsilon);
    detail::store_rows(trace.ln_f, final_normed, p, C);
    logits(row_logits, matmul_input(final_normed, rounding.matmul_inputs, operand), weights.wte, 1,
           C, V, parallel);  // profile: matmul_inputs
    detail::store_rows(trace.logits, row_logits, p, V);
    progress.report("position " + std::to_string(p + 1) + "/" + std::to_string(T));
  }
  return trace;
}

}  // namespace gpt2::reference
