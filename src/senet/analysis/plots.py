"""The studies' figures with matplotlib (Agg, no display): the paper's Figs. 6 and 7 and ablation plots."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..core.io import atomic_write  # noqa: E402

DPI = 90


def _grid(n: int, cols: int = 3, size=(4.2, 2.6)):
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    plt.close(fig)
    return path


def class_means(result: dict, path: Path) -> Path:
    """Fig. 6: per block, the mean excitation of fifty uniformly sampled channels for each chosen class and
    for all classes."""
    blocks = result["blocks"]
    fig, axes = _grid(len(blocks))
    for ax, (name, b) in zip(axes, blocks.items()):
        idx = b.get("fig6_channels") or list(range(b["channels"]))
        x = np.arange(len(idx))
        for cls in result["classes"]:
            if cls in b["class_means"]:
                ax.plot(x, np.asarray(b["class_means"][cls])[idx], lw=0.9, label=_label(result, cls))
        ax.plot(x, np.asarray(b["all_mean"])[idx], color="black", lw=1.2, ls="--", label="all")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel(f"channel ({len(idx)} of {b['channels']}, evenly spaced)", fontsize=8)
        ax.set_ylabel("activation", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{result['model']}: mean excitation per class (Fig. 6)", fontsize=10)
    return _save(fig, path)


def distributions(result: dict, path: Path) -> Path:
    """Fig. 7: for each block, the mean and standard deviation of each channel's excitation over the images
    of two classes: goldfish and plane where the data has them (as the paper), else the first two chosen."""
    blocks = result["blocks"]
    classes = _fig7_classes(result)
    fig, axes = _grid(len(blocks) * len(classes), cols=len(classes), size=(6.0, 2.2))
    panels = [(n, c) for n in blocks for c in classes]
    for ax, (name, cls) in zip(axes, panels):
        b = blocks[name]
        if cls not in b["class_means"]:
            continue
        mean, std = np.asarray(b["class_means"][cls]), np.asarray(b["class_stds"][cls])
        x = np.arange(len(mean))
        ax.fill_between(x, mean - std, mean + std, alpha=0.35, lw=0, label="mean +- std")
        ax.plot(x, mean, lw=0.9, label="mean")
        ax.set_title(f"{name}, {_label(result, cls)}", fontsize=9)
        ax.set_xlabel("channel index", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{result['model']}: distribution of excitations (Fig. 7)", fontsize=10)
    return _save(fig, path)


def _fig7_classes(result: dict) -> list[str]:

    paper = [c for c in ("n01443537", "n02690373") if c in result["classes"]]  # goldfish, plane
    return paper if len(paper) == 2 else result["classes"][:2]


def _label(result: dict, cls: str) -> str:
    """The name the result gives a class (``result["labels"]``), else its id: plots take data only."""
    return result.get("labels", {}).get(cls, f"class {cls}")


def specificity(result: dict, path: Path) -> Path:
    """The class-specificity statistic per block: the number behind 'early agnostic, late specific'."""
    names = list(result["blocks"])
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 1.5), 2.8))
    values = [result["blocks"][n]["specificity"] for n in names]
    sat = [result["blocks"][n]["saturation"] for n in names]
    x = np.arange(len(names))
    eta2 = [result["blocks"][n]["eta2"] for n in names]
    ax.bar(x - 0.27, values, 0.27, label="specificity (ours: class-mean spread)")
    ax.bar(x, eta2, 0.27, label="eta^2 (ours: variance share of class)")
    ax.bar(x + 0.27, sat, 0.27, label="saturation (s >= 0.99)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, max(1.0, *values))
    ax.legend(fontsize=7)
    ax.set_title(f"{result['model']}: class specificity per SE block (our statistics)", fontsize=10)
    return _save(fig, path)


def demo_curves(out: Path, models, seeds, path: Path) -> Path:
    """The demo's comparison: validation top-1 error and training loss per epoch of each model, mean over
    the seeds with their range shaded, both models on one plot."""
    import csv

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for model in models:
        runs = []
        for s in seeds:
            with open(Path(out) / model / f"seed{s}" / "metrics.csv", newline="") as f:
                runs.append(list(csv.DictReader(f)))
        epochs = np.arange(1, min(len(r) for r in runs) + 1)
        for ax, key in ((a, "val_top1_error"), (b, "train_loss")):
            values = np.array([[float(row[key]) for row in r[: len(epochs)]] for r in runs])
            line = ax.plot(epochs, values.mean(0), "o-", ms=3, label=f"{model} (mean of {len(runs)})")[0]
            ax.fill_between(epochs, values.min(0), values.max(0), color=line.get_color(), alpha=0.2, lw=0)
    a.set_ylabel("validation top-1 error (%)", fontsize=8)
    b.set_ylabel("training loss", fontsize=8)
    for ax in (a, b):
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.tick_params(labelsize=7)
    a.set_yscale("log")
    fig.suptitle("SE vs plain on the digits: mean over seeds, range shaded", fontsize=10)
    return _save(fig, path)


def ablation(rows: list[dict], title: str, path: Path) -> Path:
    """Error vs. variant (top-1 and top-5 bars), params on a second axis (Tables 10-16)."""
    labels = [r["variant"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(rows) + 2), 3.6))
    top1 = [_num(r.get("top1_error")) for r in rows]
    top5 = [_num(r.get("top5_error")) for r in rows]
    ax.bar(x - 0.2, top1, 0.4, label="top-1 error")
    ax.bar(x + 0.2, top5, 0.4, label="top-5 error")
    ax.set_ylabel("error (%)", fontsize=8)
    ax.set_xticks(x, labels, fontsize=8, rotation=20, ha="right")
    ax2 = ax.twinx()
    params = [_num(r.get("params")) for r in rows]
    scale, unit = (1e6, "M") if max(params, default=0) >= 1e6 else (1e3, "K")
    ax2.plot(x, [p / scale for p in params], "o-", color="black", label="params")
    ax2.set_ylabel(f"params ({unit})", fontsize=8)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    fig.legend(
        handles, [h.get_label() for h in handles], fontsize=7, loc="lower center", ncol=3, frameon=False
    )
    ax.set_title(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=DPI, format="png"))
    plt.close(fig)
    return path


def _num(v) -> float:
    return float("nan") if v is None or v == "" else float(v)
