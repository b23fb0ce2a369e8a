#!/usr/bin/env python3
"""GPU benchmark against PyTorch SDPA on the same shapes, in the same run.

NOT YET RUN ON A GPU: only the parts that need no torch (reading the self-test's JSON, the ratios and the table)
have been exercised, with --selftest-json FILE --dry. Check the first GPU run's output by hand.

On a GPU machine (nvcc, CMake and PyTorch; no Node needed), from the repository root:

    cmake -S . -B build -DGQA_BUILD_TOOLS=ON -DGQA_CUDA_ARCHS=90a -DGQA_HIP=OFF && cmake --build build -j
    python3 scripts/bench/gpu_peer.py --selftest build/csrc/selftest/gqa_selftest --json $OUT/gpu-bench.json

What it does, in one process:
1. Runs `gqa_selftest --backend cuda --bench --json` (every kernel checked against the float64 reference first,
   then ours timed: mean over about 1 s of calls after 2 warm-up calls, host clock, synchronized).
2. Times torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=..., enable_gqa=True) in bf16 on
   the same shapes, with the flash backend and the cuDNN backend forced in turn (sdpa_kernel); a backend that
   cannot run a shape is reported with PyTorch's reason. CUDA events, warm-up calls, median of --iters calls.
   Layout [B, H, S, D]. PyTorch's is_causal is top-left aligned and ours bottom-right; they agree when
   Sq == Skv (prefill here), and decode (Sq = 1) is unmasked: the one query sees every key.
3. Measures the physical limits: device-to-device copy bandwidth (a 1 GiB tensor copy_, counting bytes read
   plus bytes written, as the self-test does) and dense bf16 matmul rate (8192 x 8192 x 8192, 2 FLOPs per
   multiply-add).

Figures: prefill TFLOP/s counts 4 * B * Hq * D FLOPs per (query, key) pair the mask allows (the self-test's
count); decode GB/s counts the bytes of K and V read once. "ours/flash" and "ours/cudnn" are speed ratios
(peer time / our time; above 1 means ours is faster). "% limit" is our TFLOP/s over the matmul rate (prefill)
or our K/V GB/s over the copy bandwidth (decode).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import warnings

PEER_BACKENDS = ("flash", "cudnn")


def allowed_pairs(seqlen_q, seqlen_kv, causal):
    """(query, key) pairs the mask allows, bottom-right aligned, as the self-test counts them."""
    if not causal:
        return seqlen_q * seqlen_kv
    return sum(min(max(i + seqlen_kv - seqlen_q + 1, 0), seqlen_kv) for i in range(seqlen_q))


def attention_flops(shape):
    return 4 * shape["batch"] * shape["heads_q"] * shape["head_dim"] * allowed_pairs(
        shape["seqlen_q"], shape["seqlen_kv"], shape["causal"])


def kv_bytes(shape):
    return 2 * shape["batch"] * shape["seqlen_kv"] * shape["heads_kv"] * shape["head_dim"] * 2  # K and V, bf16


def rate(shape, ms):
    """TFLOP/s for prefill, GB/s of K/V read for decode."""
    if shape["decode"]:
        return kv_bytes(shape) / (ms * 1e-3) * 1e-9
    return attention_flops(shape) / (ms * 1e-3) * 1e-12


def run_selftest(selftest, json_path):
    """Runs our benchmark; returns the cuda report from its JSON and whether every check passed."""
    proc = subprocess.run([selftest, "--backend", "cuda", "--bench", "--json", json_path])
    if proc.returncode == 3:
        sys.exit("gqa_selftest: the cuda backend is unavailable (its reason is printed above)")
    if not os.path.exists(json_path):
        sys.exit(f"gqa_selftest exited with {proc.returncode} and wrote no {json_path}")
    return load_report(json_path), proc.returncode == 0


def load_report(json_path):
    with open(json_path) as f:
        reports = json.load(f)["reports"]
    for report in reports:
        if report["backend"] == "cuda":
            return report
    sys.exit(f"{json_path} has no cuda report (backends: {[r['backend'] for r in reports]})")


def median_ms(fn, warmup, iters):
    """Median of `iters` calls of fn, each timed with CUDA events, after `warmup` calls."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(iters):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def measure_limits(warmup, iters):
    import torch

    copy_bytes = 1 << 30
    src = torch.empty(copy_bytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    copy_ms = median_ms(lambda: dst.copy_(src), warmup, iters)
    del src, dst
    n = 8192
    a = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    b = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
    matmul_ms = median_ms(lambda: torch.matmul(a, b), warmup, iters)
    return {
        "copy_bytes": copy_bytes,
        "copy_ms": copy_ms,
        "copy_gbps": 2 * copy_bytes / (copy_ms * 1e-3) * 1e-9,  # read + write
        "matmul_n": n,
        "matmul_ms": matmul_ms,
        "matmul_tflops": 2 * n ** 3 / (matmul_ms * 1e-3) * 1e-12,
    }


def time_peer(shape, backend_name, warmup, iters):
    """PyTorch SDPA's median ms on this shape with one backend forced; (None, reason) when it cannot run."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    if shape["causal"] and shape["seqlen_q"] != shape["seqlen_kv"]:
        return None, "causal with Sq != Skv: PyTorch's is_causal is top-left aligned, ours bottom-right"
    backend = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}[backend_name]
    gen = torch.Generator(device="cuda").manual_seed(1)

    def uniform(heads, seqlen):  # [B, H, S, D], uniform in [-1, 1) like the self-test's inputs
        size = (shape["batch"], heads, seqlen, shape["head_dim"])
        return torch.rand(size, generator=gen, device="cuda", dtype=torch.bfloat16) * 2 - 1

    q = uniform(shape["heads_q"], shape["seqlen_q"])
    k = uniform(shape["heads_kv"], shape["seqlen_kv"])
    v = uniform(shape["heads_kv"], shape["seqlen_kv"])

    def call():
        return F.scaled_dot_product_attention(q, k, v, is_causal=shape["causal"], enable_gqa=True)

    with sdpa_kernel(backend), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # PyTorch says why a backend declines a call as warnings
        try:
            return median_ms(call, warmup, iters), None
        except RuntimeError as e:
            return None, "; ".join([str(w.message) for w in caught] + [str(e).splitlines()[0]])


def percent(value, limit):
    return f"{100 * value / limit:.0f}%" if value and limit else "-"


def ratio(ours_ms, peer_ms):
    return f"{peer_ms / ours_ms:.2f}" if ours_ms and peer_ms else "-"


def fmt_ms(ms):
    return f"{ms:.3f}" if ms else "-"


def build_rows(report, peers, limits):
    """One row per shape: our figures, the peers', the ratios and the share of the physical limit."""
    rows = []
    for shape in report["results"]:
        ours_ms = shape["ms"] if shape["ok"] else None
        if ours_ms:  # the self-test's own figure must agree with this script's FLOP and byte counts
            theirs = shape["gbps"] if shape["decode"] else shape["tflops"]
            if abs(rate(shape, ours_ms) - theirs) > 1e-3 * theirs:
                sys.exit(f"{shape['name']}: gqa_selftest reports {theirs}, this script counts {rate(shape, ours_ms)}")
        row = {"shape": shape, "ours_ms": ours_ms, "ours_rate": rate(shape, ours_ms) if ours_ms else None}
        for name in PEER_BACKENDS:
            peer = peers.get(shape["name"], {}).get(name, {})
            row[name + "_ms"] = peer.get("ms")
            row[name + "_rate"] = rate(shape, peer["ms"]) if peer.get("ms") else None
            row[name + "_why"] = peer.get("why")
        limit = limits.get("copy_gbps" if shape["decode"] else "matmul_tflops")
        row["limit"] = limit
        row["ours_percent_of_limit"] = 100 * row["ours_rate"] / limit if row["ours_rate"] and limit else None
        rows.append(row)
    return rows


def print_table(report, rows, limits):
    print(f"\ndevice: {report['device']}; bf16")
    print(f"device-to-device copy, 1 GiB, bytes read + written: {report['copy_gbps']:.1f} GB/s (gqa_selftest)"
          + (f", {limits['copy_gbps']:.1f} GB/s (torch, the limit used below)" if limits else ""))
    if limits:
        print(f"dense bf16 matmul {limits['matmul_n']}^3: {limits['matmul_tflops']:.1f} TFLOP/s")
    header = ["shape", "ours ms", "flash ms", "cudnn ms", "ours/flash", "ours/cudnn", "ours rate", "limit",
              "% limit"]
    lines = [header]
    for row in rows:
        shape = row["shape"]
        unit = "GB/s" if shape["decode"] else "TFLOP/s"
        lines.append([
            f"{shape['name']} (B={shape['batch']} Sq={shape['seqlen_q']} Skv={shape['seqlen_kv']}"
            f"{' causal' if shape['causal'] else ''})",
            fmt_ms(row["ours_ms"]) if row["ours_ms"] else "FAILED",
            fmt_ms(row["flash_ms"]), fmt_ms(row["cudnn_ms"]),
            ratio(row["ours_ms"], row["flash_ms"]), ratio(row["ours_ms"], row["cudnn_ms"]),
            f"{row['ours_rate']:.1f} {unit}" if row["ours_rate"] else "-",
            f"{row['limit']:.1f} {unit}" if row["limit"] else "-",
            percent(row["ours_rate"], row["limit"]),
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for line in lines:
        print("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths))))
    for row in rows:
        for name in PEER_BACKENDS:
            if row[name + "_why"]:
                print(f"{row['shape']['name']}: {name} unavailable: {row[name + '_why']}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--selftest", help="path of the gqa_selftest executable (built with -DGQA_BUILD_TOOLS=ON)")
    source.add_argument("--selftest-json", help="read our figures from this gqa_selftest --json file instead")
    parser.add_argument("--dry", action="store_true", help="with --selftest-json: format only, no torch, no GPU")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--iters", type=int, default=21)
    args = parser.parse_args()
    if args.dry and not args.selftest_json:
        parser.error("--dry needs --selftest-json")

    if args.selftest:
        with tempfile.TemporaryDirectory() as tmp:
            report, checks_passed = run_selftest(args.selftest, os.path.join(tmp, "selftest.json"))
    else:
        report, checks_passed = load_report(args.selftest_json), True

    peers, limits, versions = {}, {}, {}
    if not args.dry:
        import torch

        versions = {"torch": torch.__version__, "cuda": torch.version.cuda,
                    "cudnn": torch.backends.cudnn.version(), "device": torch.cuda.get_device_name(0)}
        print(f"\ntorch {versions['torch']}, CUDA {versions['cuda']}, cuDNN {versions['cudnn']}, "
              f"{versions['device']}")
        limits = measure_limits(args.warmup, args.iters)
        for shape in report["results"]:
            for name in PEER_BACKENDS:
                ms, why = time_peer(shape, name, args.warmup, args.iters)
                peers.setdefault(shape["name"], {})[name] = {"ms": ms, "why": why}

    rows = build_rows(report, peers, limits)
    print_table(report, rows, limits)
    if not checks_passed:
        print("gqa_selftest reported failures (see above): these figures are not a valid result")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"selftest": report, "checks_passed": checks_passed, "versions": versions, "limits": limits,
                       "peer_iters": args.iters, "peer_warmup": args.warmup, "rows": rows}, f, indent=2)
    return 0 if checks_passed and all(row["ours_ms"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
