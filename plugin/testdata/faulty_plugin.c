/* Test plugins: the example C set (examples/external_kernels/c_plugin/
 * naive_kernels.c), correct, beside a copy of it with one fault, chosen at
 * compile time by defining one FAULT_* macro (plugin/CMakeLists.txt builds
 * one library per fault). Each fault is a way a plugin can fail the oracle:
 *
 *   library-level (no set runs):
 *     FAULT_wrong_version   the table declares ABI version 2
 *     FAULT_no_entry        gpt2_oracle_plugin_entry is not exported
 *     FAULT_crash_entry     the entry point dereferences NULL
 *     FAULT_hang_entry      the entry point never returns
 *     FAULT_bad_table       a set without attention
 *   set-level (the second set, named after its fault, fails; naive-c passes):
 *     FAULT_crash_attention attention of block 0 writes through NULL (SIGSEGV)
 *     FAULT_abort_logits    logits calls abort() (SIGABRT)
 *     FAULT_hang_attention  attention of block 1 never returns
 *     FAULT_exit_project    the fc projection calls exit(3)
 *     FAULT_null_create     create returns NULL
 *     FAULT_garbage         attention writes bytes to the protocol's socket
 *     FAULT_unscaled        attention scores not scaled by 1/sqrt(HS) (wrong numbers)
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define gpt2_oracle_plugin_entry naive_entry
#include "naive_kernels.c"
#undef gpt2_oracle_plugin_entry

static void faulty_attention(void* instance, const gpt2_oracle_pass* pass, int32_t layer,
                             const float* qkv, const gpt2_oracle_kv_cache* cache, float* out) {
#if defined(FAULT_crash_attention)
  if (layer == 0) *(volatile float*)NULL = 1.0f;
#elif defined(FAULT_hang_attention)
  if (layer == 1)
    for (;;) pause();
#elif defined(FAULT_garbage)
  if (layer == 0) {
    static const char garbage[] = "this is not a frame of the protocol, but sixteen bytes and more";
    if (write(3, garbage, sizeof garbage) < 0) abort();
    for (;;) pause();
  }
#endif
  naive_attention(instance, pass, layer, qkv, cache, out);
#if defined(FAULT_unscaled)
  /* Recompute with unscaled scores: q·k instead of q·k / sqrt(HS). */
  {
    const naive* k = instance;
    const int C = k->w.config.n_embd, NH = cache->n_head, HS = cache->head_size, P = cache->n_ctx;
    float* scores = malloc(sizeof(float) * (size_t)P);
    for (int t = 0; t < pass->n_tokens; ++t) {
      const int pos = pass->pos0 + t;
      const int n = pass->mask == GPT2_ORACLE_MASK_CAUSAL ? pos + 1 : pass->pos0 + pass->n_tokens;
      for (int h = 0; h < NH; ++h) {
        const float* q = qkv + (size_t)t * 3 * C + h * HS;
        const float* keys = cache->keys + ((size_t)layer * NH + h) * P * HS;
        const float* values = cache->values + ((size_t)layer * NH + h) * P * HS;
        float max = -INFINITY, sum = 0;
        for (int j = 0; j < n; ++j) {
          float dot = 0;
          for (int i = 0; i < HS; ++i) dot += q[i] * keys[(size_t)j * HS + i];
          scores[j] = dot;
          if (dot > max) max = dot;
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
#endif
}

static void faulty_logits(void* instance, const gpt2_oracle_pass* pass, const float* x,
                          int32_t rows, float* out) {
#if defined(FAULT_abort_logits)
  abort();
#endif
  naive_logits(instance, pass, x, rows, out);
}

static void faulty_project(void* instance, const gpt2_oracle_pass* pass, int32_t layer,
                           int32_t projection, const float* x, float* y, int32_t accumulate) {
#if defined(FAULT_exit_project)
  if (projection == GPT2_ORACLE_FC) exit(3);
#endif
  naive_project(instance, pass, layer, projection, x, y, accumulate);
}

static void* faulty_create(const gpt2_oracle_weights* weights) {
#if defined(FAULT_null_create)
  (void)weights;
  return NULL;
#else
  return naive_create(weights);
#endif
}

#if !defined(FAULT_no_entry)
static gpt2_oracle_kernel_set sets[2];
static gpt2_oracle_plugin plugin;

GPT2_ORACLE_PLUGIN_EXPORT const gpt2_oracle_plugin* gpt2_oracle_plugin_entry(void) {
#if defined(FAULT_crash_entry)
  return *(const gpt2_oracle_plugin* volatile*)NULL;
#elif defined(FAULT_hang_entry)
  for (;;) pause();
#endif
  sets[0] = naive_sets[0];
  sets[1] = naive_sets[0];
  sets[1].name = FAULT_NAME;
  sets[1].description = "the example set with a fault: " FAULT_NAME;
  sets[1].create = faulty_create;
  sets[1].attention = faulty_attention;
  sets[1].logits = faulty_logits;
  sets[1].project = faulty_project;
#if defined(FAULT_bad_table)
  sets[1].attention = NULL;
#endif
  plugin.abi_version = GPT2_ORACLE_PLUGIN_ABI_VERSION;
#if defined(FAULT_wrong_version)
  plugin.abi_version = 2;
#endif
  plugin.n_sets = 2;
  plugin.sets = sets;
  return &plugin;
}
#endif
