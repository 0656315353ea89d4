"""Where the SE block's time goes on CPU: torch.profiler op totals for resnet50 vs se_resnet50.

Sessions alternate between the models (A, B, A, B, ...) so machine drift hits both alike; the output
lists per-op self CPU time per forward for each model and the difference (the SE blocks' cost).
Usage: .venv/bin/python benchmarks/profile_cpu.py [--optimize] [--rounds 6] [--output FILE]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

import senet
from senet.deploy.benchmark import environment


def op_times(model, x, reps: int) -> dict[str, float]:
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(reps):
            model(x)
    return {e.key: e.self_cpu_time_total / reps / 1e3 for e in prof.key_averages()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--models", default="resnet50,se_resnet50")
    p.add_argument("--optimize", action="store_true")
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--output")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names = args.models.split(",")
    models = {n: senet.create_model(n).eval() for n in names}
    if args.optimize:
        models = {n: senet.optimize_for_inference(m) for n, m in models.items()}
    x = torch.randn(1, 3, 224, 224)
    totals = {n: defaultdict(float) for n in names}
    with torch.inference_mode():
        for m in models.values():
            m(x)
    for _ in range(args.rounds):
        for n, m in models.items():
            for op, ms in op_times(m, x, 2).items():
                totals[n][op] += ms / args.rounds
    base, other = names[0], names[-1]
    ops = sorted(
        set(totals[base]) | set(totals[other]), key=lambda k: -abs(totals[other][k] - totals[base][k])
    )
    rows = [
        {
            "op": k,
            base: round(totals[base][k], 3),
            other: round(totals[other][k], 3),
            "diff_ms": round(totals[other][k] - totals[base][k], 3),
        }
        for k in ops
        if max(totals[base][k], totals[other][k]) > 0.05
    ]
    result = {
        "command": shlex.join([".venv/bin/python", "benchmarks/profile_cpu.py", *sys.argv[1:]]),
        "environment": environment("cpu"),
        "threads": args.threads,
        "optimize": args.optimize,
        "total_ms": {n: round(sum(totals[n].values()), 3) for n in names},
        "ops_ms_per_forward": rows,
    }
    print(f"{'op':40s} {base:>12s} {other:>12s} {'diff':>9s}")
    for r in rows[:20]:
        print(f"{r['op']:40s} {r[base]:12.3f} {r[other]:12.3f} {r['diff_ms']:9.3f}")
    print("total", result["total_ms"])
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
