"""The studies' figures with matplotlib (Agg, no display): the paper's Figs. 6 and 7 and ablation plots."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import atomic_write  # noqa: E402

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
    """Fig. 6: per block, the mean excitation of each channel for each chosen class and for all classes."""
    blocks = result["blocks"]
    fig, axes = _grid(len(blocks))
    for ax, (name, b) in zip(axes, blocks.items()):
        x = np.arange(b["channels"])
        for cls in result["classes"]:
            if cls in b["class_means"]:
                ax.plot(x, b["class_means"][cls], lw=0.9, label=f"class {cls}")
        ax.plot(x, b["all_mean"], color="black", lw=1.2, ls="--", label="all")
        ax.set_title(f"{name}  (specificity {b['specificity']:.2f})", fontsize=9)
        ax.set_xlabel("channel index", fontsize=8)
        ax.set_ylabel("activation", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{result['model']}: mean excitation per class (Fig. 6 style)", fontsize=10)
    return _save(fig, path)


def distributions(result: dict, path: Path) -> Path:
    """Fig. 7: for each block and the first two chosen classes, median and quartiles of each channel."""
    blocks = result["blocks"]
    classes = result["classes"][:2]
    fig, axes = _grid(len(blocks) * len(classes), cols=len(classes), size=(6.0, 2.2))
    panels = [(n, c) for n in blocks for c in classes]
    for ax, (name, cls) in zip(axes, panels):
        vectors = np.asarray(blocks[name]["vectors"].get(cls, []))
        if vectors.size == 0:
            continue
        q1, med, q3 = np.percentile(vectors, [25, 50, 75], axis=0)
        x = np.arange(vectors.shape[1])
        ax.fill_between(x, q1, q3, alpha=0.35, lw=0, label="quartiles")
        ax.plot(x, med, lw=0.9, label="median")
        ax.set_title(f"{name}, class {cls} ({len(vectors)} images)", fontsize=9)
        ax.set_xlabel("channel index", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{result['model']}: distribution of excitations (Fig. 7 style)", fontsize=10)
    return _save(fig, path)


def specificity(result: dict, path: Path) -> Path:
    """The class-specificity statistic per block: the number behind 'early agnostic, late specific'."""
    names = list(result["blocks"])
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(names) + 1.5), 2.8))
    values = [result["blocks"][n]["specificity"] for n in names]
    sat = [result["blocks"][n]["saturation"] for n in names]
    x = np.arange(len(names))
    eta2 = [result["blocks"][n]["eta2"] for n in names]
    ax.bar(x - 0.27, values, 0.27, label="specificity (class-mean spread)")
    ax.bar(x, eta2, 0.27, label="eta^2 (variance share of class)")
    ax.bar(x + 0.27, sat, 0.27, label="saturation (s >= 0.99)")
    ax.set_xticks(x, names, fontsize=8)
    ax.set_ylim(0, max(1.0, *values))
    ax.legend(fontsize=7)
    ax.set_title(f"{result['model']}: class specificity per SE block", fontsize=10)
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
