/* A kernel set in plain C, loaded by gpt2-oracle through its plugin ABI
 * (gpt2_oracle/plugin.h): the smallest complete plugin.
 *
 *   cc -O2 -shared -fPIC naive_kernels.c -o libnaive_kernels.so $(pkg-config --cflags gpt2_oracle)
 *   gpt2-oracle conformance --plugin ./libnaive_kernels.so
 *
 * Every op is the textbook loop, float32 throughout, single-threaded; the
 * optional ops (project_gelu, gelu, write_cache) are left to the host's
 * defaults. Shapes use the legend of plugin.h: T tokens of the pass, C
 * channels, NH heads of HS, P positions, V vocabulary. */
#include <gpt2_oracle/plugin.h>
#include <math.h>
#include <stdlib.h>

typedef struct naive {
  gpt2_oracle_weights w; /* the host's weights: valid until destroy */
} naive;

static void* naive_create(const gpt2_oracle_weights* weights) {
  naive* k = malloc(sizeof *k);
  if (k) k->w = *weights;
  return k;
}

static void naive_destroy(void* instance) { free(instance); }

/* x [T, C] = wte[tokens[t]] + wpe[pos0 + t] */
static void naive_embed(void* instance, const gpt2_oracle_pass* pass, const int32_t* tokens,
                        float* x) {
  const naive* k = instance;
  const int C = k->w.config.n_embd;
  for (int t = 0; t < pass->n_tokens; ++t)
    for (int i = 0; i < C; ++i)
      x[t * C + i] =
          k->w.wte[(size_t)tokens[t] * C + i] + k->w.wpe[(size_t)(pass->pos0 + t) * C + i];
}

/* y [rows, C] = (x - mean) / sqrt(var + eps) · weight + bias, per row */
static void naive_layer_norm(void* instance, const gpt2_oracle_pass* pass, int32_t layer,
                             int32_t site, const float* x, int32_t rows, float* y) {
  const naive* k = instance;
  const int C = k->w.config.n_embd;
  const float eps = (float)k->w.config.layer_norm_epsilon;
  const gpt2_oracle_block_weights* b = &k->w.blocks[layer];
  const float* weight = site == GPT2_ORACLE_LN_1   ? b->ln_1_weight
                        : site == GPT2_ORACLE_LN_2 ? b->ln_2_weight
                                                   : k->w.ln_f_weight;
  const float* bias = site == GPT2_ORACLE_LN_1   ? b->ln_1_bias
                      : site == GPT2_ORACLE_LN_2 ? b->ln_2_bias
                                                 : k->w.ln_f_bias;
  (void)pass;
  for (int t = 0; t < rows; ++t) {
    const float* in = x + (size_t)t * C;
    float mean = 0, var = 0;
    for (int i = 0; i < C; ++i) mean += in[i];
    mean /= C;
    for (int i = 0; i < C; ++i) var += (in[i] - mean) * (in[i] - mean);
    var /= C;
    const float inverse_std = 1.0f / sqrtf(var + eps);
    for (int i = 0; i < C; ++i)
      y[(size_t)t * C + i] = (in[i] - mean) * inverse_std * weight[i] + bias[i];
  }
}

/* y [T, out] (+)= x [T, in] · W [in, out] + b [out] */
static void naive_project(void* instance, const gpt2_oracle_pass* pass, int32_t layer,
                          int32_t projection, const float* x, float* y, int32_t accumulate) {
  const naive* k = instance;
  const int C = k->w.config.n_embd;
  const gpt2_oracle_block_weights* b = &k->w.blocks[layer];
  const float* W;
  const float* bias;
  int in = C, out = C;
  switch (projection) {
    case GPT2_ORACLE_QKV:
      W = b->attn_c_attn_weight, bias = b->attn_c_attn_bias, out = 3 * C;
      break;
    case GPT2_ORACLE_ATTN_PROJ:
      W = b->attn_c_proj_weight, bias = b->attn_c_proj_bias;
      break;
    case GPT2_ORACLE_FC:
      W = b->mlp_c_fc_weight, bias = b->mlp_c_fc_bias, out = 4 * C;
      break;
    default:
      W = b->mlp_c_proj_weight, bias = b->mlp_c_proj_bias, in = 4 * C;
      break;
  }
  for (int t = 0; t < pass->n_tokens; ++t)
    for (int j = 0; j < out; ++j) {
      float sum = 0;
      for (int i = 0; i < in; ++i) sum += x[(size_t)t * in + i] * W[(size_t)i * out + j];
      float* target = &y[(size_t)t * out + j];
      *target = (accumulate ? *target : 0.0f) + (sum + bias[j]);
    }
}

/* out [T, C]: per head, softmax(q·Kᵀ / sqrt(HS)) · V over the visible keys */
static void naive_attention(void* instance, const gpt2_oracle_pass* pass, int32_t layer,
                            const float* qkv, const gpt2_oracle_kv_cache* cache, float* out) {
  const naive* k = instance;
  const int C = k->w.config.n_embd, NH = cache->n_head, HS = cache->head_size, P = cache->n_ctx;
  float* scores = malloc(sizeof(float) * (size_t)P);
  if (!scores) abort();
  for (int t = 0; t < pass->n_tokens; ++t) {
    const int pos = pass->pos0 + t;
    /* Keys 0 .. n-1 are visible: up to the query itself under the causal
     * mask, every key of the pass without it. */
    const int n = pass->mask == GPT2_ORACLE_MASK_CAUSAL ? pos + 1 : pass->pos0 + pass->n_tokens;
    for (int h = 0; h < NH; ++h) {
      const float* q = qkv + (size_t)t * 3 * C + h * HS;
      const float* keys = cache->keys + ((size_t)layer * NH + h) * P * HS;
      const float* values = cache->values + ((size_t)layer * NH + h) * P * HS;
      float max = -INFINITY, sum = 0;
      for (int j = 0; j < n; ++j) {
        float dot = 0;
        for (int i = 0; i < HS; ++i) dot += q[i] * keys[(size_t)j * HS + i];
        scores[j] = dot / sqrtf((float)HS);
        if (scores[j] > max) max = scores[j];
      }
      for (int j = 0; j < n; ++j) sum += (scores[j] = expf(scores[j] - max));
      float* o = out + (size_t)t * C + h * HS;
      for (int i = 0; i < HS; ++i) o[i] = 0;
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < HS; ++i) o[i] += scores[j] / sum * values[(size_t)j * HS + i];
    }
  }
  free(scores);
}

/* out [rows, V] = x [rows, C] · wteᵀ */
static void naive_logits(void* instance, const gpt2_oracle_pass* pass, const float* x, int32_t rows,
                         float* out) {
  const naive* k = instance;
  const int C = k->w.config.n_embd, V = k->w.config.vocab_size;
  (void)pass;
  for (int t = 0; t < rows; ++t)
    for (int v = 0; v < V; ++v) {
      float sum = 0;
      for (int i = 0; i < C; ++i) sum += x[(size_t)t * C + i] * k->w.wte[(size_t)v * C + i];
      out[(size_t)t * V + v] = sum;
    }
}

static const gpt2_oracle_kernel_set naive_sets[] = {{
    .name = "naive-c",
    .description = "textbook loops in C, float32, one thread (examples/external_kernels)",
    .create = naive_create,
    .destroy = naive_destroy,
    .embed = naive_embed,
    .layer_norm = naive_layer_norm,
    .project = naive_project,
    .attention = naive_attention,
    .logits = naive_logits,
    /* project_gelu, gelu, write_cache: NULL, the host's defaults */
}};

static const gpt2_oracle_plugin naive_plugin = {GPT2_ORACLE_PLUGIN_ABI_VERSION, 1, naive_sets};

GPT2_ORACLE_PLUGIN_EXPORT const gpt2_oracle_plugin* gpt2_oracle_plugin_entry(void) {
  return &naive_plugin;
}
