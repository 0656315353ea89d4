"""The demo: SE-ResNet-20 and its plain twin ResNet-20 on the built-in digits, on the CPU, side by side.

The paper's claim in miniature: the same network with SE blocks (PAPER.md sec. 1-2), the same recipe,
the same data; the table shows test error, parameters, GFLOPs (multiply-adds, sec. 5) and train time.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .counting import complexity
from .engine import TrainConfig

MODELS = ("se_resnet20_cifar", "resnet20_cifar")


def demo(
    out: str | Path = "runs/demo",
    epochs: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
) -> list[dict]:
    """Train both models on digits (recipe ``digits``) and return one row per model.

    A finished run in ``out`` is reused (``--resume auto``); a stopped one continues where it was.
    """
    if threads:
        torch.set_num_threads(threads)
    rows = []
    for name in MODELS:
        from .engine import train

        config = TrainConfig(
            model=name,
            data="digits",
            recipe="digits",
            epochs=epochs,
            seed=seed,
            out=str(Path(out) / name),
            resume="auto",
            workers=0,
            device="cpu",
            progress=progress,
            tensorboard=True,
            deterministic=True,
        )
        start = time.perf_counter()
        summary = train(config)
        c = complexity(name, 32, num_classes=summary["num_classes"])
        rows.append(
            {
                "model": name,
                "top1_error": summary["top1_error"],
                "top5_error": summary["top5_error"],
                "params": c.params,
                "gflops": c.gflops,
                "train_time_s": summary["train_time_s"],
                "wall_s": time.perf_counter() - start,
                "out": summary["out"],
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    head = f"{'model':<20} {'test error':>10} {'top-5 err':>9} {'params':>9} {'GFLOPs':>8} {'train time':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['model']:<20} {r['top1_error']:>9.2f}% {r['top5_error']:>8.2f}% {r['params']:>9,} "
            f"{r['gflops']:>8.4f} {r['train_time_s']:>9.1f}s"
        )
    return "\n".join(lines)
