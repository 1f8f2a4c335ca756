#!/usr/bin/env python3
"""The peer for `gpt2-oracle bench`: the same GPT-2 shape in PyTorch (float32,
KV cache, inference mode), timed the same way: prefill of a 128-token prompt
with last-position logits, then 128 greedy decode steps.

Prefill and decode are each the best of 3 rounds, as in `gpt2-oracle bench`.
Not part of ci/test. Its best configuration on the reference machine is one
torch thread with OpenBLAS given two, set for this command alone:

    OPENBLAS_NUM_THREADS=2 OPENBLAS_CORETYPE=SkylakeX python3 bench/torch_peer.py --threads 1

Only torch is needed (Debian: python3-torch). Weights are random (the speed
does not depend on them); the shape defaults to gpt2-124m-shape.

--batch 1,4,16 adds batched decode, as `gpt2-oracle bench --batch` measures
it: B rows of a 128-token prompt prefilled together, then 128 greedy steps of
one token per row (a KV cache [B, NH, P, hs] per layer), tokens/s over all
rows, best of 3 rounds. The BLAS torch runs on is printed and kept in the JSON
("blas"): Debian's python3-torch links libblas.so.3, which is the reference
BLAS unless OpenBLAS provides it (bench/targets.py checks).
"""
import argparse
import json
import math
import os
import time

import torch


def linear(x, w, b):
    """Conv1D x·W + b, W [in, out]. One row goes through a matrix-vector
    product: a single-row GEMM is several times slower in OpenBLAS."""
    if x.shape[0] == 1:
        return torch.addmv(b, w.t(), x[0]).unsqueeze(0)
    return torch.addmm(b, x, w)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class Gpt2:
    def __init__(self, n_layer, n_head, n_embd, n_ctx, vocab, seed=0):
        g = torch.Generator().manual_seed(seed)
        r = lambda *s: torch.randn(*s, generator=g) * 0.02
        C = n_embd
        self.L, self.NH, self.C, self.P, self.V = n_layer, n_head, C, n_ctx, vocab
        self.wte, self.wpe = r(vocab, C), r(n_ctx, C)
        self.blocks = [dict(ln1=(torch.ones(C), torch.zeros(C)), attn=(r(C, 3 * C), torch.zeros(3 * C)),
                            proj=(r(C, C), torch.zeros(C)), ln2=(torch.ones(C), torch.zeros(C)),
                            fc=(r(C, 4 * C), torch.zeros(4 * C)), mproj=(r(4 * C, C), torch.zeros(C)))
                       for _ in range(n_layer)]
        self.lnf = (torch.ones(C), torch.zeros(C))
        hs = C // n_head
        self.k = torch.zeros(n_layer, n_head, n_ctx, hs)
        self.v = torch.zeros(n_layer, n_head, n_ctx, hs)
        self.pos = 0

    def forward(self, tokens, last_only=True):
        T, C, NH = len(tokens), self.C, self.NH
        hs, p0 = C // NH, self.pos
        x = self.wte[tokens] + self.wpe[p0:p0 + T]                       # [T, C]
        for l, b in enumerate(self.blocks):
            h = torch.nn.functional.layer_norm(x, (C,), *b["ln1"], 1e-5)
            qkv = linear(h, b["attn"][0], b["attn"][1])                     # Conv1D: x·W + b
            q, k, v = qkv.split(C, dim=1)
            q = q.view(T, NH, hs).transpose(0, 1)                            # [NH, T, hs]
            self.k[l, :, p0:p0 + T] = k.view(T, NH, hs).transpose(0, 1)
            self.v[l, :, p0:p0 + T] = v.view(T, NH, hs).transpose(0, 1)
            K, V = self.k[l, :, :p0 + T], self.v[l, :, :p0 + T]
            mask = torch.ones(T, p0 + T, dtype=torch.bool).tril(diagonal=p0)
            a = torch.nn.functional.scaled_dot_product_attention(q, K, V, attn_mask=mask) \
                if hasattr(torch.nn.functional, "scaled_dot_product_attention") else \
                torch.softmax((q @ K.transpose(1, 2) / math.sqrt(hs)).masked_fill(~mask, float("-inf")), -1) @ V
            x = x + linear(a.transpose(0, 1).reshape(T, C), *b["proj"])
            h = torch.nn.functional.layer_norm(x, (C,), *b["ln2"], 1e-5)
            x = x + linear(gelu_new(linear(h, *b["fc"])), *b["mproj"])
        self.pos += T
        if last_only:
            x = x[-1:]
        h = torch.nn.functional.layer_norm(x, (C,), *self.lnf, 1e-5)
        return self.wte.mv(h[0]).unsqueeze(0) if h.shape[0] == 1 else h @ self.wte.t()


class BatchedCache:
    """Keys and values of B rows for every block: [B, NH, P, hs] each."""

    def __init__(self, model, B):
        hs = model.C // model.NH
        self.k = [torch.zeros(B, model.NH, model.P, hs) for _ in range(model.L)]
        self.v = [torch.zeros(B, model.NH, model.P, hs) for _ in range(model.L)]
        self.pos = 0


def forward_batch(model, cache, tokens):
    """tokens [B, T] (rows of equal length: no padding); returns the last
    position's logits of every row, [B, V]."""
    B, T = tokens.shape
    C, NH = model.C, model.NH
    hs, p0 = C // NH, cache.pos
    x = (model.wte[tokens] + model.wpe[p0:p0 + T]).reshape(B * T, C)   # [B·T, C]
    mask = torch.ones(T, p0 + T, dtype=torch.bool).tril(diagonal=p0)
    for l, b in enumerate(model.blocks):
        h = torch.nn.functional.layer_norm(x, (C,), *b["ln1"], 1e-5)
        q, k, v = linear(h, *b["attn"]).split(C, dim=1)
        q = q.view(B, T, NH, hs).transpose(1, 2)                          # [B, NH, T, hs]
        cache.k[l][:, :, p0:p0 + T] = k.view(B, T, NH, hs).transpose(1, 2)
        cache.v[l][:, :, p0:p0 + T] = v.view(B, T, NH, hs).transpose(1, 2)
        K, V = cache.k[l][:, :, :p0 + T], cache.v[l][:, :, :p0 + T]
        a = torch.nn.functional.scaled_dot_product_attention(q, K, V, attn_mask=mask) \
            if hasattr(torch.nn.functional, "scaled_dot_product_attention") else \
            torch.softmax((q @ K.transpose(-1, -2) / math.sqrt(hs)).masked_fill(~mask, float("-inf")), -1) @ V
        x = x + linear(a.transpose(1, 2).reshape(B * T, C), *b["proj"])
        h = torch.nn.functional.layer_norm(x, (C,), *b["ln2"], 1e-5)
        x = x + linear(gelu_new(linear(h, *b["fc"])), *b["mproj"])
    cache.pos += T
    h = torch.nn.functional.layer_norm(x.view(B, T, C)[:, -1], (C,), *model.lnf, 1e-5)
    return model.wte.mv(h[0]).unsqueeze(0) if B == 1 else h @ model.wte.t()


def loaded_blas():
    """The BLAS libraries this process has mapped (after a matrix product)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    paths = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if "blas" in path.lower() and ".so" in path:
                paths.add(path)
    return sorted(paths)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--steps", type=int, default=128)
    ap.add_argument("--shape", default="12,12,768,1024,50257", help="L,NH,C,P,V")
    ap.add_argument("--json", help="write the figures to this file")
    ap.add_argument("--batch", help="batched decode for these batch sizes, e.g. 1,4,16")
    ap.add_argument("--blas-only", action="store_true", help="print the BLAS torch loads and exit")
    args = ap.parse_args()
    if args.blas_only:
        print("\n".join(loaded_blas()))
        return
    torch.set_num_threads(args.threads)
    L, NH, C, P, V = (int(s) for s in args.shape.split(","))
    model = Gpt2(L, NH, C, P, V)
    prompt = torch.randint(0, V, (args.prompt,), generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        best = math.inf
        for _ in range(3):
            model.pos = 0
            t = time.perf_counter()
            logits = model.forward(prompt)
            best = min(best, time.perf_counter() - t)
        prefill = args.prompt / best
        best = math.inf  # decode: best of 3 rounds, as `gpt2-oracle bench` does
        for _ in range(3):
            model.pos = 0
            logits = model.forward(prompt)
            t = time.perf_counter()
            for _ in range(args.steps):
                logits = model.forward(logits[-1].argmax().view(1))
            best = min(best, time.perf_counter() - t)
        decode = args.steps / best
        # The BLAS behind torch (OpenBLAS on Debian) on the engine's GEMM shape.
        a, b = torch.randn(768, 768), torch.randn(768, 768)
        gemm = math.inf
        for _ in range(20):
            t = time.perf_counter()
            torch.mm(a, b)
            gemm = min(gemm, time.perf_counter() - t)
        gemm = 2 * 768 ** 3 / gemm / 1e9
        batch = []
        sizes = [int(b) for b in args.batch.split(",")] if args.batch else []
        rows = torch.randint(0, V, (max(sizes or [1]), args.prompt),
                             generator=torch.Generator().manual_seed(2))
        best = {b: math.inf for b in sizes}
        for _ in range(3):  # rounds interleave the batch sizes, each keeps its best
            for B in sizes:
                cache = BatchedCache(model, B)
                logits = forward_batch(model, cache, rows[:B])
                t = time.perf_counter()
                for _ in range(args.steps):
                    logits = forward_batch(model, cache, logits.argmax(-1).view(B, 1))
                best[B] = min(best[B], time.perf_counter() - t)
        for B in sizes:
            batch.append({"batch": B, "tok_s": B * args.steps / best[B],
                          "step_ms": best[B] / args.steps * 1e3})
    blas = loaded_blas()
    print(f"torch {torch.__version__}, {args.threads} torch thread(s), BLAS: {', '.join(blas) or '?'}")
    print(f"prefill {args.prompt} tokens, last-position logits: {prefill:.1f} tok/s")
    print(f"decode {args.steps} steps from position {args.prompt}: {decode:.2f} tok/s")
    print(f"GEMM 768x768x768 (torch.mm): {gemm:.1f} GFLOP/s")
    for r in batch:
        print(f"batch {r['batch']:3d}: {r['tok_s']:9.1f} tok/s over all rows, {r['step_ms']:8.2f} ms per step")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "threads": args.threads, "blas": blas,
                       "prefill_last_logits_tok_s": prefill, "decode_tok_s": decode,
                       "gemm_768_gflop_s": gemm, "batch_decode": batch}, f, indent=2)


if __name__ == "__main__":
    main()
