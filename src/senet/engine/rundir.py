"""The run directory: the names of its files, and the files beside the checkpoints (config.json,
metrics.csv, TensorBoard, curves.png, summary.json: written last, its presence marks a finished run).
Rank 0 only; every file is written atomically (``senet.io``)."""

from __future__ import annotations

import csv
import io
import platform
from pathlib import Path

import torch

from .. import io as sio

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
WEIGHTS, SUMMARY, CONFIG = "model.safetensors", "summary.json", "config.json"
METRICS, CURVES, TENSORBOARD = "metrics.csv", "curves.png", "tensorboard"

COLUMNS = (
    "epoch",
    "train_loss",
    "train_top1_error",
    "val_loss",
    "val_top1_error",
    "val_top5_error",
    "lr",
    "epoch_time_s",
    "images_per_s",
    "skipped",
)


def write_config(out: Path, config: dict, recipe: dict) -> None:
    versions = {"torch": torch.__version__, "python": platform.python_version()}
    sio.write_json({"config": config, "recipe": recipe, "versions": versions}, out / CONFIG)


def write_metrics(out: Path, history: list[dict]) -> None:
    """metrics.csv rewritten from the history (a resumed run never duplicates rows)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(history)
    sio.write_text(out / METRICS, buf.getvalue())


def log_scalars(writer, row: dict, step: int) -> None:
    """TensorBoard scalars of one epoch (no-op without a writer)."""
    if writer is None:
        return
    for k in ("train_loss", "val_loss"):
        writer.add_scalar(f"loss/{k[:-5]}", row[k], step)
    for k in ("train_top1_error", "val_top1_error", "val_top5_error"):
        writer.add_scalar(f"error/{k}", row[k], step)
    writer.add_scalar("lr", row["lr"], step)
    writer.add_scalar("images_per_s", row["images_per_s"], step)
    writer.flush()


def write_curves(out: Path, history: list[dict], title: str) -> None:
    """curves.png: loss and top-1 error per epoch, train and val."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((a, "loss", "loss"), (b, "top1_error", "top-1 error (%)")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in history], "o-", label="val")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    sio.atomic_write(out / CURVES, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
