"""The demo: SE-ResNet-20 and its plain twin ResNet-20 on the built-in digits, on the CPU, side by side.

The paper's claim in miniature: the same network with SE blocks (PAPER.md sec. 1-2), the same recipe,
the same data. One seed on 450 test images is noise (a single image is 0.22 points), so each model is
trained with several seeds; the table gives the mean and the spread of the test error over the seeds,
says whether the difference of the means exceeds that spread, and ``senet report`` shows the comparison
(table and both models' curves on one plot) on its first screen.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch

from ..core.io import read_json, write_json
from ..engine import TrainConfig
from ..models.counting import complexity

MODELS = ("se_resnet20_cifar", "resnet20_cifar")
RUNS = 3  # seeds per model: enough to see the seed-to-seed spread, within about 5 minutes on 2 cores


def demo(
    out: str | Path = "runs/demo",
    epochs: int | None = None,
    seed: int = 0,
    threads: int | None = None,
    progress: bool = True,
    runs: int = RUNS,
) -> dict:
    """Train both models on digits (recipe ``digits``) with seeds ``seed .. seed + runs - 1``; write
    ``demo.json``, ``comparison.png`` and ``report.html`` into ``out``; return the comparison.

    Finished runs in ``out`` are reused (``--resume auto``); a stopped one continues where it was.
    """
    from ..engine import train

    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        from ..errors import SenetError

        raise SenetError(f"runs must be a positive integer, got {runs!r}")
    if threads:
        torch.set_num_threads(threads)
    out = Path(out)
    seeds = list(range(seed, seed + runs))
    rows = []
    for name in MODELS:
        summaries, start = [], time.perf_counter()
        for s in seeds:
            config = TrainConfig(
                model=name,
                data="digits",
                recipe="digits",
                epochs=epochs,
                seed=s,
                out=str(out / name / f"seed{s}"),
                resume="auto",
                workers=0,
                device="cpu",
                progress=progress,
                tensorboard=True,
                deterministic=True,
            )
            summaries.append(train(config))
        rows.append(_row(name, summaries, time.perf_counter() - start))
    result = {"data": "digits", "seeds": seeds, "models": rows, "comparison": compare(rows[0], rows[1])}
    write_json(result, out / "demo.json")
    from . import plots
    from .report import report

    plots.demo_curves(out, MODELS, seeds, out / "comparison.png")
    report(out, title="senet demo: SE-ResNet-20 vs ResNet-20 on the digits")
    return result


def _row(name: str, summaries: list[dict], wall_s: float) -> dict:
    errors = [s["top1_error"] for s in summaries]
    c = complexity(name, 32, num_classes=summaries[0]["num_classes"])
    return {
        "model": name,
        "top1_errors": errors,
        "top1_mean": statistics.fmean(errors),
        "top1_std": statistics.stdev(errors) if len(errors) > 1 else 0.0,
        "top5_mean": statistics.fmean(s["top5_error"] for s in summaries),
        "params": c.params,
        "gflops": c.gflops,
        "train_time_s": sum(s["train_time_s"] for s in summaries),
        "wall_s": wall_s,
        "runs": [s["out"] for s in summaries],
    }


def compare(se: dict, plain: dict) -> dict:
    """The difference of the mean errors, and whether it exceeds the seed-to-seed spread (the larger of
    the two standard deviations over seeds): below it, these runs cannot tell the models apart."""
    diff = se["top1_mean"] - plain["top1_mean"]
    spread = max(se["top1_std"], plain["top1_std"])
    exceeds = abs(diff) > spread and len(se["top1_errors"]) > 1
    if not exceeds:
        verdict = "within the seed-to-seed spread: these runs do not tell the two models apart"
    else:
        verdict = f"larger than the seed-to-seed spread: SE is {'better' if diff < 0 else 'worse'} here"
    return {"difference": diff, "spread": spread, "exceeds_spread": exceeds, "verdict": verdict}


def format_table(result: dict) -> str:
    """The comparison as text: mean +- std of the test error over the seeds, and the verdict."""
    n = len(result["seeds"])
    head = (
        f"{'model':<20} {f'test error (mean +- std, {n} seeds)':>34} {'top-5':>7} {'params':>9} "
        f"{'GFLOPs':>8} {'train time':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in result["models"]:
        each = ", ".join(f"{e:.2f}" for e in r["top1_errors"])
        lines.append(
            f"{r['model']:<20} {r['top1_mean']:>6.2f}% +- {r['top1_std']:.2f} ({each:>17}) {r['top5_mean']:>6.2f}% "
            f"{r['params']:>9,} {r['gflops']:>8.4f} {r['train_time_s']:>9.1f}s"
        )
    c = result["comparison"]
    lines.append(
        f"\nSE minus plain: {c['difference']:+.2f} points; spread (larger std over seeds) {c['spread']:.2f}: "
        f"{c['verdict']}."
    )
    return "\n".join(lines)


def load(out: str | Path) -> dict:
    """A finished demo's ``demo.json``."""
    return read_json(Path(out) / "demo.json")
