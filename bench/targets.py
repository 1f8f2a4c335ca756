#!/usr/bin/python3
"""The engine's speed targets (issues 4 and 23), measured in one run:
`gpt2-oracle bench` for the `fast` and `bf16` kernel sets, then the PyTorch
peer (bench/torch_peer.py), one after the other, --repeat times (interleaved,
so that a noisy stretch of the machine hits all three alike). Every bench run
is listed (decode against its own triad, the spread over its rounds, its
unsteady flag and the cause bench found); the targets are then computed from
these runs, each ratio from figures of one run.

    /usr/bin/python3 bench/targets.py [--binary build/release/gpt2-oracle] [--threads 2]
                                      [--repeat 2] [--out DIR]

Each program's line says the 1-minute load average just before it ran.
`--repeat 10` gives the ten consecutive bench runs of each set that the
steadiness target asks for.

The peer runs in its best configuration on the reference machines: one torch
thread, OPENBLAS_NUM_THREADS=2, and OPENBLAS_CORETYPE=SkylakeX where the CPU
has AVX-512 (OpenBLAS 0.3.21 does not recognise every AVX-512 CPU, e.g. AMD
Zen 4, and would fall back to its AVX2 kernels; elsewhere that core type
crashes OpenBLAS, so the variable is then removed and OpenBLAS detects the
CPU itself). The peer prints the BLAS library it loaded. Without torch the
peer's rows say so. Not part of ci/test: this machine is shared and the
figures are only meaningful as ratios from one run.

Batched decode (issue 17): `bench --batch 1,4,16` for `fast` and the peer's
`--batch 1,4,16` run in the same rounds; the rows compare B = 16 with B = 1
and with the peer's B = 16 (--batch "" leaves them out).

The peer must run on an optimized BLAS: Debian's python3-torch calls
libblas.so.3, which is the reference BLAS (torch.mm about 6 GFLOP/s) unless
OpenBLAS provides it. Before any run, this script asks torch which BLAS it
maps (torch_peer.py --blas-only); for the reference BLAS it points the peer
to libopenblas0-pthread's libblas.so.3 (LD_LIBRARY_PATH), installing the
package first when it is missing and this user may (root, or sudo without a
password); failing that, it prints no ratio against the peer, and says why.
"""
import argparse
import glob
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def load_average():
    """The 1-minute load average (/proc/loadavg): how many processes wanted
    this machine's CPUs just before a program ran."""
    try:
        return float(pathlib.Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def run_bench(binary, kernel, threads, out, i):
    path = out / f"bench_{kernel}_{i}.json"
    cmd = [binary, "bench", "--model", "gpt2-124m-shape", "--kernel", kernel,
           "--threads", str(threads), "--json", str(path)]
    load = load_average()
    print(f"$ {' '.join(cmd)}   # load average {load:.2f}", flush=True)
    subprocess.run(cmd, check=True)
    return dict(json.loads(path.read_text()), _load=load)


def run_batch_bench(binary, kernel, threads, batch, out, i):
    path = out / f"bench_{kernel}_batch_{i}.json"
    cmd = [binary, "bench", "--model", "gpt2-124m-shape", "--kernel", kernel,
           "--threads", str(threads), "--batch", batch, "--json", str(path)]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(path.read_text())


def peer_env():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2")
    if "avx512f" in pathlib.Path("/proc/cpuinfo").read_text():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
    else:
        env.pop("OPENBLAS_CORETYPE", None)
    return env


def torch_blas(env):
    """('openblas' | 'reference' | 'unknown', the mapped paths), or (None, []) without torch."""
    r = subprocess.run([sys.executable, str(HERE / "torch_peer.py"), "--blas-only"], env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, []
    paths = r.stdout.split()
    libblas = [p for p in paths if "/libblas.so" in p]
    if any("openblas" in p for p in libblas) or (not libblas and any("openblas" in p for p in paths)):
        return "openblas", paths
    return ("reference" if libblas else "unknown"), paths


def optimized_blas_env():
    """The peer's environment with an optimized BLAS, or (None, why)."""
    env = peer_env()
    kind, paths = torch_blas(env)
    if kind is None:
        return None, "torch is not installed (Debian: python3-torch)"
    if kind == "openblas":
        return env, "torch uses OpenBLAS (" + ", ".join(paths) + ")"
    dirs = glob.glob("/usr/lib/*/openblas-pthread")
    if not dirs:
        install = ["apt-get", "install", "-y", "libopenblas0-pthread"]
        if os.geteuid() != 0:
            install = ["sudo", "-n"] + install if shutil.which("sudo") else None
        if install:
            print("$ " + " ".join(install), flush=True)
            subprocess.run(install)
        dirs = glob.glob("/usr/lib/*/openblas-pthread")
    if not dirs:
        return None, ("torch uses the " + kind + " BLAS (" + ", ".join(paths) + ") and "
                      "libopenblas0-pthread is not installed (and could not be installed here)")
    env["LD_LIBRARY_PATH"] = dirs[0] + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    kind, paths = torch_blas(env)
    if kind != "openblas":
        return None, "torch still does not load OpenBLAS with LD_LIBRARY_PATH=" + dirs[0]
    return env, "torch uses OpenBLAS through LD_LIBRARY_PATH=" + dirs[0]


def run_peer(out, i, env, batch):
    path = out / f"torch_peer_{i}.json"
    cmd = [sys.executable, str(HERE / "torch_peer.py"), "--threads", "1", "--json", str(path)]
    if batch:
        cmd += ["--batch", batch]
    shown = " ".join(f"{k}={env[k]}" for k in ("LD_LIBRARY_PATH", "OPENBLAS_NUM_THREADS",
                                               "OPENBLAS_CORETYPE") if k in env)
    load = load_average()
    print(f"$ {shown} {' '.join(cmd)}   # load average {load:.2f}", flush=True)
    try:
        subprocess.run(cmd, check=True, env=env)
    except subprocess.CalledProcessError as e:
        print(f"torch peer failed ({e}); its rows are left out", flush=True)
        return None
    return dict(json.loads(path.read_text()), _load=load)


# Of several `bench` runs of one kernel set: the decode figures (and the
# bandwidths and step times measured beside them) of the run with the best
# decode, the prefill figures (and the GEMM rate beside them) of the run with
# the best prefill. Every ratio still compares figures of one run.
PREFILL_KEYS = ("prefill_last_logits_tok_s", "prefill_last_logits_gflop_s", "gemm_768_gflop_s",
                "prefill_fraction_of_gemm_peak", "prefill_all_logits_tok_s")


def best_bench(runs):
    best = dict(max(runs, key=lambda r: r["decode_tok_s"]))
    prefill = max(runs, key=lambda r: r["prefill_last_logits_tok_s"])
    best.update({k: prefill[k] for k in PREFILL_KEYS})
    best["_prefill_run"] = runs.index(prefill)
    return best


def run_line(kernel, i, r):
    spread = r.get("decode_spread", 0)
    rounds = ", ".join(f"{x['decode_tok_s']:.1f}" for x in r.get("decode_rounds", []))
    flag = "UNSTEADY" if r.get("decode_unsteady") else "steady"
    line = (f"  {kernel} run {i + 1:2d}: decode {r['decode_tok_s']:6.2f} tok/s = "
            f"{100 * r['decode_fraction_of_triad']:4.0f}% of triad ({r['triad_bandwidth_gb_s']:.2f} GB/s); "
            f"rounds {rounds}; "
            f"spread {100 * spread:.0f}% {flag}; prefill {r['prefill_last_logits_tok_s']:.0f} tok/s = "
            f"{r['prefill_last_logits_gflop_s']:.0f} GFLOP/s; {r['simd']}; load {r['_load']:.1f}")
    if r.get("decode_unsteady"):
        line += f"\n      cause: {r['decode_unsteady_cause']}"
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(HERE.parent / "build/release/gpt2-oracle"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="folder for the JSON files (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=2,
                    help="run fast, bf16 and the peer this many times, interleaved (default 2)")
    ap.add_argument("--batch", default="1,4,16",
                    help="batch sizes of the batched decode rows (default 1,4,16; \"\" for none)")
    args = ap.parse_args()
    out = pathlib.Path(args.out or tempfile.mkdtemp(prefix="gpt2-targets-"))
    out.mkdir(parents=True, exist_ok=True)
    env, blas_note = optimized_blas_env()
    print("PyTorch peer: " + blas_note + ("" if env else "; no ratio against it is printed"),
          flush=True)

    runs = {"fast": [], "bf16": [], "peer": [], "fast_batch": []}
    for i in range(args.repeat):
        runs["fast"].append(run_bench(args.binary, "fast", args.threads, out, i))
        runs["bf16"].append(run_bench(args.binary, "bf16", args.threads, out, i))
        if args.batch:
            runs["fast_batch"].append(run_batch_bench(args.binary, "fast", args.threads,
                                                      args.batch, out, i))
        # None where the peer failed or has no optimized BLAS: rounds stay aligned
        runs["peer"].append(run_peer(out, i, env, args.batch) if env else None)
    fast, bf16 = best_bench(runs["fast"]), best_bench(runs["bf16"])
    peers = [p for p in runs["peer"] if p]
    peer = {k: max(p[k] for p in peers) for k in ("prefill_last_logits_tok_s", "decode_tok_s",
                                                 "gemm_768_gflop_s")} if peers else None

    def best_batches(results):  # each batch size's best tok/s over the runs
        best = {}
        for r in results:
            for row in r.get("batch_decode", []):
                best[row["batch"]] = max(best.get(row["batch"], 0), row["tok_s"])
        return best
    fast_batch = best_batches(runs["fast_batch"])
    peer_batch = best_batches(peers)

    print()
    print(f"every bench run, in order (JSON in {out}):")
    for i in range(args.repeat):
        for kernel in ("fast", "bf16"):
            print(run_line(kernel, i, runs[kernel][i]))
        p = runs["peer"][i]
        if p:
            print(f"  peer run {i + 1:2d}: decode {p['decode_tok_s']:.2f} tok/s; prefill "
                  f"{p['prefill_last_logits_tok_s']:.0f} tok/s; torch.mm {p['gemm_768_gflop_s']:.1f} GFLOP/s; "
                  f"BLAS {', '.join(os.path.basename(b) for b in p.get('blas', [])) or '?'}; load {p['_load']:.1f}")

    rows = []  # (target, text, met)

    def row(target, text, met):
        rows.append((target, text, "met" if met else "NOT met"))

    fast_fractions = [r["decode_fraction_of_triad"] for r in runs["fast"]]
    row("fast decode >= 95% of triad, in every run",
        f"{sum(f >= 0.95 for f in fast_fractions)} of {len(fast_fractions)} runs: "
        + " ".join(f"{100 * f:.0f}%" for f in fast_fractions)
        + f"; {sum(bool(r.get('decode_unsteady')) for r in runs['fast'])} flagged unsteady",
        all(f >= 0.95 for f in fast_fractions))
    f = bf16["decode_fraction_of_triad"]
    row("bf16 decode >= 90% of triad (best run)",
        f"{100 * f:.0f}% ({bf16['decode_weight_bandwidth_gb_s']:.2f} of {bf16['triad_bandwidth_gb_s']:.2f} GB/s; "
        f"{100 * bf16['decode_fraction_of_read_bandwidth']:.0f}% of the read-only loop's "
        f"{bf16['read_bandwidth_gb_s']:.2f}); every run: "
        + " ".join(f"{100 * r['decode_fraction_of_triad']:.0f}%" for r in runs["bf16"]), f >= 0.9)
    r = bf16["decode_tok_s"] / fast["decode_tok_s"]
    row("bf16 decode >= 1.8x fast (best runs)", f"{r:.2f}x ({bf16['decode_tok_s']:.1f} / {fast['decode_tok_s']:.1f} tok/s)",
        r >= 1.8)
    for name, b in (("fast", fast), ("bf16", bf16)):
        # The best 768^3 GEMM measured on the machine in the same run: the set's
        # own (its bench run) or OpenBLAS through torch.mm (the peer's run of
        # the same round).
        own = b["gemm_768_gflop_s"]
        i = b["_prefill_run"]
        mm = runs["peer"][i]["gemm_768_gflop_s"] if runs["peer"][i] else 0
        best = max(own, mm)
        frac = b["prefill_last_logits_gflop_s"] / best
        row(f"{name} prefill 128 (last logits) >= 60% of the best 768^3 GEMM",
            f"{100 * frac:.0f}% ({b['prefill_last_logits_gflop_s']:.1f} of {best:.1f} GFLOP/s: own {own:.1f}, "
            f"torch.mm {mm:.1f} in the same round)", frac >= 0.6)
    for name, b in (("fast", fast), ("bf16", bf16)):
        steps = b["decode_step_ms_by_position"]
        if not {"64", "512", "1000"} <= steps.keys():
            continue
        # Linear growth: each cached position adds the same time, at least its
        # keys and values read at streaming bandwidth (kv_model). Superlinear
        # growth shows as a later slope well above the earlier one. Three
        # noisy points cannot prove more than that, so the row only says
        # "no sign of superlinear growth": the later slope is at most twice the
        # larger of the earlier one and the model.
        t64, t512, t1000 = steps["64"], steps["512"], steps["1000"]
        early, late = (t512 - t64) / 448 * 1e3, (t1000 - t512) / 488 * 1e3  # us per position
        kv_model = b["kv_cache_us_per_position_at_triad"]
        row(f"{name} decode step time: no superlinear growth",
            f"{t64:.2f} / {t512:.2f} / {t1000:.2f} ms at 64 / 512 / 1000; slope {early:.2f} then "
            f"{late:.2f} us/position (cache read at triad: {kv_model:.2f})",
            late <= 2 * max(early, kv_model))
    if peer:
        for name, b in (("fast", fast), ("bf16", bf16)):
            r = b["prefill_last_logits_tok_s"] / peer["prefill_last_logits_tok_s"]
            row(f"{name} prefill 128 >= 1.5x PyTorch", f"{r:.2f}x ({b['prefill_last_logits_tok_s']:.0f} / "
                f"{peer['prefill_last_logits_tok_s']:.0f} tok/s)", r >= 1.5)

    if 16 in fast_batch and 1 in fast_batch:
        r = fast_batch[16] / fast_batch[1]
        row("fast batched decode B=16 >= 8x B=1",
            f"{r:.2f}x ({fast_batch[16]:.1f} / {fast_batch[1]:.1f} tok/s over all rows)", r >= 8)
    if 16 in fast_batch and 16 in peer_batch:
        r = fast_batch[16] / peer_batch[16]
        row("fast batched decode B=16 >= PyTorch's",
            f"{r:.2f}x ({fast_batch[16]:.1f} / {peer_batch[16]:.1f} tok/s over all rows)", r >= 1)

    print()
    print(f"ratios from this run, each program's best of {args.repeat} interleaved runs:")
    width = max(len(t) for t, _, _ in rows)
    for target, text, met in rows:
        print(f"  {target:<{width}}  {met:<7}  {text}")
    if peer:
        print(f"  decode against PyTorch: fast {fast['decode_tok_s'] / peer['decode_tok_s']:.2f}x, bf16 "
              f"{bf16['decode_tok_s'] / peer['decode_tok_s']:.2f}x ({fast['decode_tok_s']:.1f}, "
              f"{bf16['decode_tok_s']:.1f} / {peer['decode_tok_s']:.1f} tok/s)")
    print(f"  fast prefill, all-position logits: {fast['prefill_all_logits_tok_s']:.0f} tok/s; "
          f"bf16: {bf16['prefill_all_logits_tok_s']:.0f} tok/s")
    print(f"  GEMM 768^3: fast {fast['gemm_768_gflop_s']:.1f}, bf16 {bf16['gemm_768_gflop_s']:.1f}"
          + (f", torch.mm {peer['gemm_768_gflop_s']:.1f} (best of its runs)" if peer else "") + " GFLOP/s")
    if peers:
        # Each ratio within one round (fast, bf16 and the peer one after the
        # other): on a shared machine the spread of these is the honest error
        # bar of the best-run ratios above.
        def spread(name, ratios, unit="x"):
            ratios = sorted(ratios)
            print(f"  {name}: median {ratios[len(ratios) // 2]:.2f}{unit}, range {ratios[0]:.2f}{unit} to "
                  f"{ratios[-1]:.2f}{unit} over {len(ratios)} rounds")
        both = [(runs["fast"][i], runs["bf16"][i], p) for i, p in enumerate(runs["peer"]) if p]
        print("  ratios within each round:")
        spread("  fast prefill / PyTorch", [f["prefill_last_logits_tok_s"] / p["prefill_last_logits_tok_s"]
                                            for f, _, p in both])
        spread("  bf16 prefill / PyTorch", [b["prefill_last_logits_tok_s"] / p["prefill_last_logits_tok_s"]
                                            for _, b, p in both])
        spread("  fast decode / PyTorch", [f["decode_tok_s"] / p["decode_tok_s"] for f, _, p in both])
        spread("  bf16 decode / PyTorch", [b["decode_tok_s"] / p["decode_tok_s"] for _, b, p in both])
        spread("  bf16 decode / fast decode", [b["decode_tok_s"] / f["decode_tok_s"] for f, b, _ in both])
        spread("  fast prefill GFLOP/s / best 768^3 GEMM",
               [f["prefill_last_logits_gflop_s"] / max(f["gemm_768_gflop_s"], p["gemm_768_gflop_s"])
                for f, _, p in both], unit="")
    print(f"  SIMD path: {fast['simd']} (this CPU has {', '.join(fast.get('simd_supported', []))})")
    if fast_batch:
        print("  batched decode, tok/s over all rows: " + ", ".join(
            f"B={b}: fast {fast_batch[b]:.1f}" + (f", PyTorch {peer_batch[b]:.1f}" if b in peer_batch else "")
            for b in sorted(fast_batch)))
    print("  PyTorch peer: " + blas_note)
    print(f"  resident memory, engine after load: fast {fast['engine_rss_mib']:.0f} MiB, bf16 "
          f"{bf16['engine_rss_mib']:.0f} MiB (peak while loading: {fast['load_peak_rss_mib']:.0f}, "
          f"{bf16['load_peak_rss_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
