#!/usr/bin/python3
"""PyTorch's GPT-2 as a gpt2-oracle trace: a foreign runtime, judged by the oracle.

    gpt2_torch.py --checkpoint DIR --tokens 5,17,3 --out TRACE.safetensors
    gpt2_torch.py --case CASEDIR --out TRACE.safetensors      # the case's weights, tokens, mask
        [--mode full|cached] [--mask causal|none] [--gelu tanh|erf] [--threads N]

Loads a Hugging Face GPT-2 checkpoint directory (config.json and
model.safetensors: F32, F16 or BF16, with or without the "transformer."
prefix; GPT-2's Conv1D layout) into a plain PyTorch module written here (no
`transformers`), runs the tokens in float32 and writes every tensor of
gpt2-oracle's trace contract, taken with forward hooks on the modules that
compute them:

    embed            model.embed     (wte[tokens] + wpe[positions])
    block.{l}.ln_1   h[l].ln_1       block.{l}.qkv    h[l].attn.c_attn
    block.{l}.attn   h[l].attn.core  (softmax(q·kᵀ/sqrt(HS), masked)·v, heads merged)
    block.{l}.mid    h[l].mid        (the residual after the attention half)
    block.{l}.ln_2   h[l].ln_2       block.{l}.gelu   h[l].mlp.act
    block.{l}        h[l]            ln_f             ln_f
    logits           lm_head         (tied to wte)

as F32 safetensors, for `gpt2-oracle fixtures verify CASEDIR --trace TRACE`.
--mode full runs one causal-masked (or --mask none) pass over all tokens;
--mode cached prefills the first token and decodes the others one at a time
on a key/value cache, each hook capturing the rows of its pass. --gelu erf
swaps GPT-2's tanh GELU for torch.nn.GELU()'s default erf form: the most
common GPT-2 porting slip, which the oracle must catch.

Exit codes: 0 written, 2 bad input (one line on stderr).
"""
import argparse
import json
import math
import struct
import sys

import torch
from torch import nn

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
BYTES = {"F32": 4, "F16": 2, "BF16": 2}


class InputError(Exception):
    pass


# ---- files ----------------------------------------------------------------------------

def read_safetensors(path):
    """{name: float32 tensor} of a safetensors file (F32, F16, BF16)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise InputError(f"{path}: not a safetensors file (shorter than 8 bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise InputError(f"{path}: header length {n} beyond the file")
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise InputError(f"{path}: header is not JSON ({e})")
    buffer = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info.get("dtype") not in DTYPES:
            raise InputError(f"{path}: tensor '{name}' is {info.get('dtype')}, expected F32, F16 or BF16")
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        dtype = DTYPES[info["dtype"]]
        if not 0 <= begin <= end <= len(buffer) or end - begin != count * BYTES[info["dtype"]]:
            raise InputError(f"{path}: tensor '{name}' has data_offsets {info['data_offsets']} "
                             f"that do not hold its shape {info['shape']}")
        raw = bytearray(buffer[begin:end])  # frombuffer needs a writable buffer
        t = torch.frombuffer(raw, dtype=dtype) if count else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).to(torch.float32)
    return tensors


def write_safetensors(path, tensors, metadata):
    """{name: float32 tensor} as F32 safetensors, tensors in the given order."""
    header, chunks, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        raw = t.detach().contiguous().to(torch.float32).numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


# ---- the model ------------------------------------------------------------------------
# Shapes: T tokens of the pass, C channels, NH heads of HS, V vocabulary. No
# batch dimension: one sequence.

class Conv1D(nn.Module):
    """GPT-2's projection: y = x·W + b with W [in, out] (transposed to nn.Linear's)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):  # [T, in] -> [T, out]
        return torch.addmm(self.bias, x, self.weight)


class AttentionCore(nn.Module):
    """softmax(q·kᵀ / sqrt(HS)) · v per head, heads merged: the trace's block.{l}.attn."""

    def __init__(self, n_head):
        super().__init__()
        self.n_head = n_head

    def forward(self, q, k, v, pos0, causal):
        # q [T, C] at positions pos0 .. pos0+T-1; k, v [pos0+T, C], every key so far.
        T, C = q.shape
        S, HS = k.shape[0], C // self.n_head
        q, k, v = (t.reshape(-1, self.n_head, HS).transpose(0, 1) for t in (q, k, v))  # [NH, *, HS]
        scores = (q @ k.transpose(1, 2)) / math.sqrt(HS)  # [NH, T, S]
        if causal:  # query pos0+t sees keys 0 .. pos0+t
            hidden = torch.arange(S)[None, :] > (pos0 + torch.arange(T))[:, None]
            scores = scores.masked_fill(hidden, float("-inf"))
        return (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(T, C)  # [T, C]


class Attention(nn.Module):
    def __init__(self, n_embd, n_head):
        super().__init__()
        self.c_attn = Conv1D(n_embd, 3 * n_embd)
        self.core = AttentionCore(n_head)
        self.c_proj = Conv1D(n_embd, n_embd)

    def forward(self, x, cache, pos0, causal):
        q, k, v = self.c_attn(x).split(x.shape[1], dim=1)  # [T, C] each
        if cache is not None:  # the keys and values of earlier passes
            k, v = torch.cat([cache[0], k]), torch.cat([cache[1], v])
        return self.c_proj(self.core(q, k, v, pos0, causal)), (k, v)


class MLP(nn.Module):
    def __init__(self, n_embd, gelu):
        super().__init__()
        self.c_fc = Conv1D(n_embd, 4 * n_embd)
        # GPT-2's gelu_new is the tanh form; nn.GELU()'s default is the erf form.
        self.act = nn.GELU(approximate="tanh") if gelu == "tanh" else nn.GELU()
        self.c_proj = Conv1D(4 * n_embd, n_embd)

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, eps, gelu):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=eps)
        self.attn = Attention(n_embd, n_head)
        self.mid = nn.Identity()  # the residual stream after the attention half
        self.ln_2 = nn.LayerNorm(n_embd, eps=eps)
        self.mlp = MLP(n_embd, gelu)

    def forward(self, x, cache, pos0, causal):
        a, cache = self.attn(self.ln_1(x), cache, pos0, causal)
        x = self.mid(x + a)
        return x + self.mlp(self.ln_2(x)), cache


class GPT2(nn.Module):
    def __init__(self, cfg, gelu="tanh"):
        super().__init__()
        C, eps = cfg["n_embd"], cfg["layer_norm_epsilon"]
        self.wte = nn.Embedding(cfg["vocab_size"], C)
        self.wpe = nn.Embedding(cfg["n_positions"], C)
        self.embed = nn.Identity()  # wte + wpe
        self.h = nn.ModuleList(Block(C, cfg["n_head"], eps, gelu) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(C, eps=eps)
        self.lm_head = nn.Linear(C, cfg["vocab_size"], bias=False)
        self.lm_head.weight = self.wte.weight  # tied

    def forward(self, tokens, caches, pos0, causal):
        """tokens [T] at positions pos0..; caches: per block (k, v) of earlier passes or None."""
        x = self.embed(self.wte(tokens) + self.wpe(pos0 + torch.arange(len(tokens))))
        new = []
        for block, cache in zip(self.h, caches):
            x, cache = block(x, cache, pos0, causal)
            new.append(cache)
        return self.lm_head(self.ln_f(x)), new


def load_gpt2(checkpoint, gelu="tanh"):
    """The model of a Hugging Face GPT-2 directory, float32, every weight checked."""
    try:
        with open(f"{checkpoint}/config.json", encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError(f"{checkpoint}/config.json: {e}")
    for key in ("n_layer", "n_head", "n_embd", "n_positions", "vocab_size", "layer_norm_epsilon"):
        if key not in cfg:
            raise InputError(f"{checkpoint}/config.json: missing '{key}'")
    if cfg.get("activation_function", "gelu_new") not in ("gelu_new", "gelu_pytorch_tanh"):
        raise InputError(f"{checkpoint}/config.json: activation_function "
                         f"'{cfg['activation_function']}' is not GPT-2's tanh GELU")
    stored = read_safetensors(f"{checkpoint}/model.safetensors")
    stored = {name.removeprefix("transformer."): t for name, t in stored.items()
              if not name.endswith((".attn.bias", ".attn.masked_bias")) and name != "lm_head.weight"}
    model = GPT2(cfg, gelu)
    expected = {name: p for name, p in model.named_parameters() if not name.startswith("lm_head")}
    for name in sorted(set(expected) | set(stored)):
        if name not in stored:
            raise InputError(f"{checkpoint}/model.safetensors: missing tensor '{name}'")
        if name not in expected:
            raise InputError(f"{checkpoint}/model.safetensors: unexpected tensor '{name}'")
        if tuple(stored[name].shape) != tuple(expected[name].shape):
            raise InputError(f"{checkpoint}/model.safetensors: tensor '{name}' has shape "
                             f"{list(stored[name].shape)}, expected {list(expected[name].shape)}")
    with torch.no_grad():
        for name, p in expected.items():
            p.copy_(stored[name])
    return cfg, model.eval()


# ---- the trace --------------------------------------------------------------------------

def trace_modules(model):
    """(trace name, module) in the trace's forward order."""
    out = [("embed", model.embed)]
    for l, b in enumerate(model.h):
        out += [(f"block.{l}.ln_1", b.ln_1), (f"block.{l}.qkv", b.attn.c_attn),
                (f"block.{l}.attn", b.attn.core), (f"block.{l}.mid", b.mid),
                (f"block.{l}.ln_2", b.ln_2), (f"block.{l}.gelu", b.mlp.act), (f"block.{l}", b)]
    return out + [("ln_f", model.ln_f), ("logits", model.lm_head)]


def run_trace(model, tokens, mode, causal):
    """{trace name: [T, width] tensor}: each hook collects the rows of every pass."""
    rows = {}
    hooks = []
    for name, module in trace_modules(model):
        def hook(module, inputs, output, name=name):
            output = output[0] if isinstance(output, tuple) else output  # a Block: (x, cache)
            rows.setdefault(name, []).append(output.detach().clone())
        hooks.append(module.register_forward_hook(hook))
    tokens = torch.tensor(tokens, dtype=torch.long)
    caches = [None] * len(model.h)
    with torch.no_grad():
        if mode == "full":
            model(tokens, caches, 0, causal)
        else:  # a 1-token prefill, then one decode step per token on the cache
            for pos in range(len(tokens)):
                _, caches = model(tokens[pos:pos + 1], caches, pos, causal)
    for h in hooks:
        h.remove()
    return {name: torch.cat(parts) for name, parts in rows.items()}


def blas_library():
    """The BLAS this process loaded (Debian's torch links libblas.so.3, an
    alternative: the reference BLAS or OpenBLAS). Correctness does not depend
    on it; speed does."""
    import os
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
        paths = {p for p in paths if "blas" in os.path.basename(p).lower()}
    except OSError:
        return "unknown"
    return ", ".join(sorted({os.path.realpath(p) for p in paths})) or "none loaded"


def parse_tokens(text, vocab_size):
    try:
        tokens = [int(t) for t in text.split(",")]
    except ValueError:
        raise InputError(f"--tokens: expected comma-separated integers, found '{text}'")
    for i, t in enumerate(tokens):
        if not 0 <= t < vocab_size:
            raise InputError(f"--tokens: token {i} is {t}, outside [0, {vocab_size})")
    return tokens


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", help="Hugging Face GPT-2 directory")
    source.add_argument("--case", help="a gpt2-oracle case with embedded weights: its tokens and mask")
    parser.add_argument("--tokens", help="token ids, e.g. 5,17,3 (with --checkpoint)")
    parser.add_argument("--mask", choices=["causal", "none"], help="default: the case's, or causal")
    parser.add_argument("--mode", choices=["full", "cached"], default="full")
    parser.add_argument("--gelu", choices=["tanh", "erf"], default="tanh",
                        help="tanh: GPT-2's gelu_new (default); erf: torch.nn.GELU()'s default, wrong")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    try:
        if args.case:
            with open(f"{args.case}/case.json", encoding="utf-8") as f:
                case = json.load(f)
            if not case["weights"]["embedded"]:
                raise InputError(f"{args.case}: the case's weights are not embedded; give --checkpoint")
            checkpoint, tokens, mask = args.case, case["tokens"], case["mask"]
            if args.tokens:
                raise InputError("--tokens: the case gives the tokens")
        else:
            if not args.tokens:
                raise InputError("--tokens is required with --checkpoint")
            checkpoint, tokens, mask = args.checkpoint, None, "causal"
        mask = args.mask or mask
        if args.mode == "cached" and mask == "none":
            raise InputError("--mode cached decodes one token at a time: there is no mask to remove")
        cfg, model = load_gpt2(checkpoint, args.gelu)
        if tokens is None:
            tokens = parse_tokens(args.tokens, cfg["vocab_size"])
        if not 1 <= len(tokens) <= cfg["n_positions"]:
            raise InputError(f"{len(tokens)} tokens: between 1 and n_positions ({cfg['n_positions']})")
    except (InputError, OSError, KeyError, ValueError) as e:
        print(f"gpt2_torch.py: {e}", file=sys.stderr)
        return 2
    trace = run_trace(model, tokens, args.mode, mask == "causal")
    metadata = {"producer": f"adapters/pytorch/gpt2_torch.py (torch {torch.__version__})",
                "mode": args.mode, "mask": mask, "gelu": args.gelu, "blas": blas_library(),
                "tokens": ",".join(map(str, tokens))}
    write_safetensors(args.out, trace, metadata)
    return 0


if __name__ == "__main__":
    sys.exit(main())
