#!/usr/bin/python3
"""Issue 4's speed targets, measured in one run: `gpt2-oracle bench` for the
`fast` and `bf16` kernel sets, then the PyTorch peer (bench/torch_peer.py),
one after the other, --repeat times (interleaved, so that a noisy stretch of
the machine hits all three alike), each keeping its best; every ratio is
computed from that run.

    /usr/bin/python3 bench/targets.py [--binary build/release/gpt2-oracle] [--threads 2]
                                      [--repeat 2] [--out DIR]

The peer runs in its best configuration on the reference machine: one torch
thread, OPENBLAS_NUM_THREADS=2, and OPENBLAS_CORETYPE=SkylakeX only where the
CPU has AVX-512 (elsewhere that core type crashes OpenBLAS; the variable is
then removed so that OpenBLAS detects the CPU itself). Without torch the peer's
rows say so. Not part of ci/test: this machine is shared and the figures are
only meaningful as ratios from one run.

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


def run_bench(binary, kernel, threads, out, i):
    path = out / f"bench_{kernel}_{i}.json"
    cmd = [binary, "bench", "--model", "gpt2-124m-shape", "--kernel", kernel,
           "--threads", str(threads), "--json", str(path)]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    return json.loads(path.read_text())


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
    print(f"$ {shown} " + " ".join(cmd), flush=True)
    try:
        subprocess.run(cmd, check=True, env=env)
    except subprocess.CalledProcessError as e:
        print(f"torch peer failed ({e}); its rows are left out", flush=True)
        return None
    return json.loads(path.read_text())


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
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(HERE.parent / "build/release/gpt2-oracle"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="folder for the JSON files (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=2,
                    help="run fast, bf16 and the peer this many times, interleaved, and keep each "
                         "one's best (default 2)")
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
        p = run_peer(out, i, env, args.batch) if env else None
        if p:
            runs["peer"].append(p)
    fast, bf16 = best_bench(runs["fast"]), best_bench(runs["bf16"])
    peer = {k: max(p[k] for p in runs["peer"]) for k in runs["peer"][0]
            if isinstance(runs["peer"][0][k], (int, float))} if runs["peer"] else None

    def best_batches(results):  # each batch size's best tok/s over the runs
        best = {}
        for r in results:
            for row in r.get("batch_decode", []):
                best[row["batch"]] = max(best.get(row["batch"], 0), row["tok_s"])
        return best
    fast_batch = best_batches(runs["fast_batch"])
    peer_batch = best_batches(runs["peer"])

    rows = []  # (target, measured, met)

    def row(target, value, text, met):
        rows.append((target, text, "met" if met else "NOT met"))
        return value

    row("fast decode >= 80% of triad bandwidth", fast["decode_fraction_of_triad"],
        f"{100 * fast['decode_fraction_of_triad']:.0f}% ({fast['decode_weight_bandwidth_gb_s']:.2f} of "
        f"{fast['triad_bandwidth_gb_s']:.2f} GB/s; {100 * fast['decode_fraction_of_read_bandwidth']:.0f}% "
        f"of the read-only loop's {fast['read_bandwidth_gb_s']:.2f})", fast["decode_fraction_of_triad"] >= 0.8)
    r = bf16["decode_tok_s"] / fast["decode_tok_s"]
    row("bf16 decode >= 1.7x fast", r,
        f"{r:.2f}x ({bf16['decode_tok_s']:.1f} / {fast['decode_tok_s']:.1f} tok/s)", r >= 1.7)
    for name, b in (("fast", fast), ("bf16", bf16)):
        f = b["prefill_fraction_of_gemm_peak"]
        row(f"{name} prefill 128 (last logits) >= 60% of its GEMM peak", f,
            f"{100 * f:.0f}% ({b['prefill_last_logits_gflop_s']:.1f} of {b['gemm_768_gflop_s']:.1f} GFLOP/s)",
            f >= 0.6)
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
        row(f"{name} decode step time: no superlinear growth", late,
            f"{t64:.2f} / {t512:.2f} / {t1000:.2f} ms at 64 / 512 / 1000; slope {early:.2f} then "
            f"{late:.2f} us/position (cache read at triad: {kv_model:.2f})",
            late <= 2 * max(early, kv_model))
    if peer:
        r = fast["decode_tok_s"] / peer["decode_tok_s"]
        row("fast decode >= 3x PyTorch", r, f"{r:.2f}x ({fast['decode_tok_s']:.1f} / "
            f"{peer['decode_tok_s']:.1f} tok/s)", r >= 3)
        r = bf16["decode_tok_s"] / peer["decode_tok_s"]
        row("bf16 decode >= 3x PyTorch", r, f"{r:.2f}x ({bf16['decode_tok_s']:.1f} / "
            f"{peer['decode_tok_s']:.1f} tok/s)", r >= 3)
        for name, b in (("fast", fast), ("bf16", bf16)):
            r = b["prefill_last_logits_tok_s"] / peer["prefill_last_logits_tok_s"]
            row(f"{name} prefill 128 >= PyTorch", r, f"{r:.2f}x ({b['prefill_last_logits_tok_s']:.0f} / "
                f"{peer['prefill_last_logits_tok_s']:.0f} tok/s)", r >= 1)

    if 16 in fast_batch and 1 in fast_batch:
        r = fast_batch[16] / fast_batch[1]
        row("fast batched decode B=16 >= 8x B=1", r,
            f"{r:.2f}x ({fast_batch[16]:.1f} / {fast_batch[1]:.1f} tok/s over all rows)", r >= 8)
    if 16 in fast_batch and 16 in peer_batch:
        r = fast_batch[16] / peer_batch[16]
        row("fast batched decode B=16 >= PyTorch's", r,
            f"{r:.2f}x ({fast_batch[16]:.1f} / {peer_batch[16]:.1f} tok/s over all rows)", r >= 1)

    print()
    print(f"ratios from this run, each program's best of {args.repeat} interleaved runs (JSON in {out}):")
    width = max(len(t) for t, _, _ in rows)
    for target, text, met in rows:
        print(f"  {target:<{width}}  {met:<7}  {text}")
    print(f"  fast prefill, all-position logits: {fast['prefill_all_logits_tok_s']:.0f} tok/s; "
          f"bf16: {bf16['prefill_all_logits_tok_s']:.0f} tok/s")
    print(f"  GEMM 768^3: fast {fast['gemm_768_gflop_s']:.1f}, bf16 {bf16['gemm_768_gflop_s']:.1f}"
          + (f", torch.mm {peer['gemm_768_gflop_s']:.1f}" if peer else "") + " GFLOP/s")
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
