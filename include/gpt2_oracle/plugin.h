/* gpt2-oracle's plugin ABI: a kernel set in a shared library, in plain C.
 *
 * A plugin is a shared library that exports one function,
 *
 *     const gpt2_oracle_plugin* gpt2_oracle_plugin_entry(void);
 *
 * returning a table (static storage: it is read, never freed) whose first
 * field is the ABI version this header defines, then the kernel sets the
 * library offers. Each set is a table of function pointers: the ops of a
 * GPT-2 forward pass on float32 buffers, in the order and with the meaning
 * of the engine's Kernels interface (optimized/kernels.h). No C++ type
 * crosses this boundary, so a set may be written in C, Rust, Zig, or behind
 * CUDA.
 *
 *     gpt2-oracle conformance --plugin ./libmykernels.so
 *     gpt2-oracle fixtures verify CASEDIR --plugin ./libmykernels.so
 *     gpt2-oracle replay --plugin ./libmykernels.so --tokens 1,2,3
 *     gpt2-oracle kernels --plugin ./libmykernels.so
 *
 * gpt2-oracle runs every plugin set, the entry point included, in a child
 * process of its own, with a time limit on every call (--plugin-timeout): a
 * set that crashes (a segfault, an abort) or hangs is reported as that set's
 * failure ("crashed (signal 11) in block.0 attention") and the oracle goes
 * on. The child holds your set's instance (and the KV cache it writes and
 * reads) and runs each op the oracle's engine asks for, on the inputs it is
 * sent; the engine's loop and the judging stay in the parent, as for the
 * oracle's own sets.
 *
 * Shapes use one legend: T tokens in the pass, C = n_embd, NH = n_head,
 * HS = C / NH, P = n_ctx, V = vocab_size, L = n_layer. Every matrix is
 * row-major. A pass over T consecutive positions pos0 .. pos0+T-1 calls:
 *
 *   x = embed(tokens)                                      x [T, C]
 *   per block l:
 *     h = layer_norm(ln_1, x);  qkv = project(qkv, h)      qkv [T, 3C]
 *     write_cache(qkv)                                     keys/values at pos0+t
 *     a = attention(qkv, cache);  x += project(attn_proj, a)
 *     h = layer_norm(ln_2, x);  f = project_gelu(h)        f [T, 4C]
 *     x += project(mlp_proj, f)
 *   h = layer_norm(ln_f, x);  logits = logits(h)          logits [rows, V]
 *
 * examples/external_kernels/c_plugin/naive_kernels.c is a complete set in
 * about 160 lines of C.
 */
#ifndef GPT2_ORACLE_PLUGIN_H
#define GPT2_ORACLE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI. A plugin built against another version is
 * refused at load (exit 2, naming the library and both versions). */
#define GPT2_ORACLE_PLUGIN_ABI_VERSION 1u

/* The name of the one symbol a plugin exports. */
#define GPT2_ORACLE_PLUGIN_ENTRY "gpt2_oracle_plugin_entry"

/* Pass.mask: which keys the queries of a prefill see among the pass's own
 * positions. Keys of earlier passes (positions < pos0) are always visible. */
enum {
  GPT2_ORACLE_MASK_CAUSAL = 0, /* query pos0+t sees keys 0 .. pos0+t */
  GPT2_ORACLE_MASK_NONE = 1    /* every query sees keys 0 .. pos0+T-1 */
};

/* layer_norm's site. ln_f ignores the layer index (0 is passed). */
enum { GPT2_ORACLE_LN_1 = 0, GPT2_ORACLE_LN_2 = 1, GPT2_ORACLE_LN_F = 2 };

/* project's weights, each GPT-2's Conv1D layout (y = x·W + b, W [in, out]):
 * qkv [C, 3C], attn_proj [C, C], fc [C, 4C], mlp_proj [4C, C]. */
enum {
  GPT2_ORACLE_QKV = 0,
  GPT2_ORACLE_ATTN_PROJ = 1,
  GPT2_ORACLE_FC = 2,
  GPT2_ORACLE_MLP_PROJ = 3
};

typedef struct gpt2_oracle_config {
  int32_t n_layer;           /* L */
  int32_t n_head;            /* NH */
  int32_t n_embd;            /* C */
  int32_t n_ctx;             /* P, the context (n_positions) */
  int32_t vocab_size;        /* V */
  double layer_norm_epsilon; /* 1e-5 for GPT-2 */
} gpt2_oracle_config;

/* One forward pass over T consecutive positions. */
typedef struct gpt2_oracle_pass {
  int32_t pos0;     /* absolute position of the pass's first token */
  int32_t n_tokens; /* T */
  int32_t mask;     /* GPT2_ORACLE_MASK_CAUSAL or GPT2_ORACLE_MASK_NONE */
  int32_t decode;   /* 1: a decode step (T = 1 against the cache); 0: a prefill */
} gpt2_oracle_pass;

/* The weights of one block, float32, GPT-2's names and layouts. */
typedef struct gpt2_oracle_block_weights {
  const float* ln_1_weight;        /* [C] */
  const float* ln_1_bias;          /* [C] */
  const float* attn_c_attn_weight; /* [C, 3C] */
  const float* attn_c_attn_bias;   /* [3C] */
  const float* attn_c_proj_weight; /* [C, C] */
  const float* attn_c_proj_bias;   /* [C] */
  const float* ln_2_weight;        /* [C] */
  const float* ln_2_bias;          /* [C] */
  const float* mlp_c_fc_weight;    /* [C, 4C] */
  const float* mlp_c_fc_bias;      /* [4C] */
  const float* mlp_c_proj_weight;  /* [4C, C] */
  const float* mlp_c_proj_bias;    /* [C] */
} gpt2_oracle_block_weights;

/* The model. Every pointer stays valid until the instance is destroyed:
 * keep them, or copy (pack, convert, upload) what the set needs. */
typedef struct gpt2_oracle_weights {
  gpt2_oracle_config config;
  const float* wte;                        /* [V, C]; also the tied lm_head */
  const float* wpe;                        /* [P, C] */
  const gpt2_oracle_block_weights* blocks; /* [L] */
  const float* ln_f_weight;                /* [C] */
  const float* ln_f_bias;                  /* [C] */
} gpt2_oracle_weights;

/* The key/value cache, owned by the host: per block, per head, the HS floats
 * of the key (value) at each position,
 *   keys, values [L, NH, P, HS]; key (l, h, p) at keys + ((l·NH + h)·P + p)·HS.
 * write_cache stores the pass's keys and values; attention reads them. */
typedef struct gpt2_oracle_kv_cache {
  float* keys;
  float* values;
  int32_t n_layer, n_head, n_ctx, head_size;
} gpt2_oracle_kv_cache;

/* One kernel set. `instance` is what create returned. Required: name,
 * create, destroy, embed, layer_norm, project, attention, logits. Optional
 * (NULL: the host's own, as the Kernels interface's defaults): description,
 * project_gelu (project fc, then gelu), gelu (GPT-2's tanh form),
 * write_cache (copies columns C..3C of qkv into the cache). */
typedef struct gpt2_oracle_kernel_set {
  const char* name;        /* [a-zA-Z0-9_.+-], at most 64 characters, unique */
  const char* description; /* one line, for `gpt2-oracle kernels` */

  /* An instance for these weights, or NULL when it cannot be made (the
   * set's failure, reported as such). */
  void* (*create)(const gpt2_oracle_weights* weights);
  void (*destroy)(void* instance);

  /* x [T, C] = wte[tokens[t]] + wpe[pos0 + t] */
  void (*embed)(void* instance, const gpt2_oracle_pass* pass, const int32_t* tokens, float* x);

  /* y [rows, C] = (x - mean) / sqrt(var + eps) · weight + bias, per row (rows
   * = T, or fewer for ln_f when only the last logits are needed). */
  void (*layer_norm)(void* instance, const gpt2_oracle_pass* pass, int32_t layer, int32_t site,
                     const float* x, int32_t rows, float* y);

  /* y [T, out] = x [T, in] · W + b with block `layer`'s weight `projection`;
   * with accumulate != 0, y += x · W + b (the residual connection). */
  void (*project)(void* instance, const gpt2_oracle_pass* pass, int32_t layer, int32_t projection,
                  const float* x, float* y, int32_t accumulate);

  /* y [T, 4C] = gelu_tanh(x [T, C] · W_fc + b_fc) (optional). */
  void (*project_gelu)(void* instance, const gpt2_oracle_pass* pass, int32_t layer, const float* x,
                       float* y);

  /* x [n] = 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))) (optional). */
  void (*gelu)(void* instance, float* x, size_t n);

  /* Stores the pass's keys and values (qkv [T, 3C], columns C..2C and
   * 2C..3C, NH heads of HS each) at positions pos0+t of block `layer`
   * (optional). */
  void (*write_cache)(void* instance, const gpt2_oracle_pass* pass, int32_t layer, const float* qkv,
                      gpt2_oracle_kv_cache* cache);

  /* out [T, C] = per head, softmax(q·Kᵀ / sqrt(HS)) · V over the keys the
   * query at pos0+t sees (see the mask), queries from qkv [T, 3C] columns
   * 0..C, keys and values from the cache (already written for this pass). */
  void (*attention)(void* instance, const gpt2_oracle_pass* pass, int32_t layer, const float* qkv,
                    const gpt2_oracle_kv_cache* cache, float* out);

  /* out [rows, V] = x [rows, C] · wteᵀ (the tied lm_head). */
  void (*logits)(void* instance, const gpt2_oracle_pass* pass, const float* x, int32_t rows,
                 float* out);
} gpt2_oracle_kernel_set;

/* What gpt2_oracle_plugin_entry returns. */
typedef struct gpt2_oracle_plugin {
  uint32_t abi_version; /* GPT2_ORACLE_PLUGIN_ABI_VERSION: always the first field */
  uint32_t n_sets;      /* at least 1, at most 64 */
  const gpt2_oracle_kernel_set* sets;
} gpt2_oracle_plugin;

/* The entry point a plugin exports, with C linkage and default visibility:
 *   GPT2_ORACLE_PLUGIN_EXPORT const gpt2_oracle_plugin* gpt2_oracle_plugin_entry(void) {...} */
typedef const gpt2_oracle_plugin* (*gpt2_oracle_plugin_entry_fn)(void);
#if defined(__GNUC__) || defined(__clang__)
#define GPT2_ORACLE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define GPT2_ORACLE_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
}
#endif

#endif /* GPT2_ORACLE_PLUGIN_H */
