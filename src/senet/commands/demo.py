"""`senet demo` (= `make demo`): SE-ResNet-20 vs ResNet-20 on the built-in digits, on the CPU, in minutes."""

from __future__ import annotations

import json
import time

HELP = "train se_resnet20_cifar and resnet20_cifar on the built-in digits (3 seeds each) and compare them"


def add_arguments(p):
    p.add_argument("--out", default="runs/demo", help="where the run directories go (default runs/demo)")
    p.add_argument("--epochs", type=int, help="default: the digits recipe's 12")
    p.add_argument("--seed", type=int, default=0, help="the first seed (default 0)")
    p.add_argument(
        "--runs", type=int, default=3, help="seeds per model (default 3): mean and spread over them"
    )
    p.add_argument(
        "--threads", type=_positive, help="CPU threads (default: torch's, i.e. OMP_NUM_THREADS or all)"
    )
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--json", action="store_true", help="the comparison as one JSON object")


def run(args):
    from ..analysis.demo import demo, format_table

    start = time.perf_counter()
    result = demo(args.out, args.epochs, args.seed, args.threads, args.progress, args.runs)
    if args.json:
        print(json.dumps(result))
        return 0
    print()
    print("SE-ResNet-20 vs ResNet-20 on scikit-learn's handwritten digits (1347 train / 450 test, 32x32):")
    print(format_table(result))
    print(f"\ntotal {time.perf_counter() - start:.0f}s. The comparison page: {args.out}/report.html")
    print(
        f"Each run ({args.out}/<model>/seed<k>/): curves.png, checkpoints, model.safetensors, metrics.csv, summary.json"
    )
    best = result["models"][0]["runs"][0]
    print(f"Evaluate a checkpoint again:  senet eval --checkpoint {best}/checkpoint_best.pt --data digits")
    return 0


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value
