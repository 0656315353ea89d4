"""The role of excitation (Sec. 7.2, Figs. 6-7): record the gate s of SE blocks per class, and prune a stage.

``excitations(...)`` runs a trained SE model over the first N validation images of every class, with a
forward hook on each chosen block's ``gate_fn`` (the excitation sigma, Eq. 3), and writes
``excitations.json`` (every vector), ``fig6_class_means.png``, ``fig7_distribution.png``,
``specificity.png`` and ``summary.md``. With ``drop_stage`` it also evaluates the network with that stage's
SE blocks replaced by identity: the paper's pruning observation (Sec. 7.2; Sec. 5: "< 0.1% top-5 error,
relative parameter increase ~4%" for SE-ResNet-50 without stage 5).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from torch import nn

from ..core.io import write_text
from ..core.runtime import resolve_device
from ..errors import SenetError
from . import _data

GATE_RANGES = {nn.Sigmoid: (0.0, 1.0), nn.Tanh: (-1.0, 1.0), nn.ReLU: (0.0, math.inf)}


# Sec. 7.2's four classes (ImageNet synsets): goldfish, pug, plane, cliff.
PAPER_CLASSES = {"n01443537": "goldfish", "n02110958": "pug", "n02690373": "plane", "n09246464": "cliff"}
FIG6_CHANNELS = 50  # Fig. 6 plots fifty uniformly sampled channels


def default_blocks(blocks: dict) -> list[str]:
    """Sec. 7.2's blocks: the last of each stage but the last, and every block of the last stage
    (SE_2_3, SE_3_4, SE_4_6, SE_5_1, SE_5_2, SE_5_3 for SE-ResNet-50); every block if unstaged."""
    stages: dict = {}
    for name, b in blocks.items():
        if b.stage is None:
            return list(blocks)
        stages.setdefault(b.stage, []).append(name)  # blocks come stage by stage, in order
    *early, last = stages.values()
    return [names[-1] for names in early] + last


def default_classes(names: list[str]) -> list[str]:
    """Sec. 7.2's classes (goldfish, pug, plane, cliff) where the data has them, else its first four."""
    paper = [n for n in PAPER_CLASSES if n in names]
    return paper if len(paper) == len(PAPER_CLASSES) else names[:4]


def sampled_channels(channels: int, k: int = FIG6_CHANNELS) -> list[int]:
    """Fig. 6's fifty uniformly sampled channels: evenly spaced over the block (all if it has fewer)."""
    if channels <= k:
        return list(range(channels))
    return torch.linspace(0, channels - 1, k).round().long().tolist()


def choose(kind: str, wanted, allowed: list[str], default: list[str]) -> list[str]:
    """Parse ``"a,b"`` or a list; every item must be allowed (bad input names what is allowed)."""
    if wanted is None or wanted == "":
        return default
    items = [w.strip() for w in wanted.split(",")] if isinstance(wanted, str) else [str(w) for w in wanted]
    bad = [w for w in items if w not in allowed]
    if bad or not items:
        raise SenetError(f"{kind} {bad or items} not found; allowed: {', '.join(allowed)}")
    return list(dict.fromkeys(items))


@torch.no_grad()
def record(
    model: nn.Module, blocks: dict[str, nn.Module], dataset, device: str | None = None, batch_size: int = 128
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Run ``dataset`` through ``model`` and return each block's excitations (N, C) and the labels (N,).

    The hook sits on ``block.gate_fn``, whose output is s. For NoSqueeze (Table 16) s is H x W x C; it is
    averaged over positions to one value per channel.
    """
    seen: dict[str, list[torch.Tensor]] = {n: [] for n in blocks}

    def hook(name):
        def fn(module, inputs, output):
            s = output.detach().float()
            seen[name].append(s.mean((2, 3)) if s.dim() == 4 else s.flatten(1))

        return fn

    handles = [blk.gate_fn.register_forward_hook(hook(n)) for n, blk in blocks.items()]
    labels = []
    try:
        device = resolve_device(device)
        model.eval().to(device)
        for x, y in _data.batches(dataset, batch_size):
            model(x.to(device))
            labels.append(y)
    finally:
        for h in handles:
            h.remove()
    return {n: torch.cat(v).cpu() for n, v in seen.items()}, torch.cat(labels)


def block_statistics(s: torch.Tensor, labels: torch.Tensor) -> dict:
    """Class specificity of one block's excitations ``s`` (N, C) over images of several classes.

    - ``specificity``: how far the class means lie from the all-class mean (the lines of Fig. 6): RMS over
      classes and channels of ``mean_k - mean_all``, relative to the RMS of ``mean_all``. 0 = every class
      induces the same s (class-agnostic, the paper's early stages); larger = class-specific.
    - ``eta2``: the share of the gate's variance over images explained by the class (between-class / total
      sum of squares, pooled over channels, in [0, 1]); scale-free, so also high when s barely varies.
    - ``saturation``: the share of gate values >= 0.99 (Sec. 7.2: SE_5_2 is near-saturated, s ~ 1).
    """
    overall = s.mean(0)
    classes = labels.unique()
    means = torch.stack([s[labels == c].mean(0) for c in classes])
    counts = torch.tensor([(labels == c).sum() for c in classes], dtype=s.dtype)
    between = (counts[:, None] * (means - overall) ** 2).sum()
    total = ((s - overall) ** 2).sum()
    rms = overall.pow(2).mean().sqrt()
    return {
        "specificity": float((means - overall).pow(2).mean().sqrt() / rms) if rms > 0 else 0.0,
        "eta2": float(between / total) if total > 0 else 0.0,
        "saturation": float((s >= 0.99).float().mean()),
        "mean": float(s.mean()),
        "min": float(s.min()),
        "max": float(s.max()),
    }


def gate_range(block: nn.Module) -> tuple[float, float]:
    """The range of the block's excitation: (0, 1) sigmoid, (-1, 1) tanh, [0, inf) ReLU (Table 12)."""
    for kind, rng in GATE_RANGES.items():
        if isinstance(block.gate_fn, kind):
            return rng
    return (-math.inf, math.inf)


def excitations(
    model: str,
    checkpoint=None,
    *,
    data: str = "digits",
    classes=None,
    samples: int = 50,
    blocks=None,
    out=None,
    drop_stage: int | None = None,
    device: str | None = None,
    trained_without=None,
    **options,
) -> dict:
    """Record excitations per class (Sec. 7.2, Figs. 6-7) and write the figures, statistic and JSON.

    ``classes``: names of the classes to plot (default: the paper's goldfish, pug, plane and cliff where the
    data has them, else its first four; Fig. 7 shows the first two); the all-class mean and our extra
    statistics use every class. ``blocks``: SE block names (default: Sec. 7.2's, :func:`default_blocks`).
    ``options``: the model's SE knobs, as the checkpoint was trained. Returns the summary written.
    """
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise SenetError(f"--out {str(out)!r} is a file; the analysis writes a directory of files")
    if not isinstance(samples, int) or samples < 1:
        raise SenetError(f"samples must be a positive integer, got {samples!r}")

    dataset, names = _data.eval_set(data)
    chosen = choose("classes", classes, names, default_classes(names))
    net, options = _data.load_model(model, checkpoint, names, options)
    all_blocks = {n: b.module for n, b in _data.se_blocks(net).items()}
    if trained_without is not None and drop_stage is None:
        raise SenetError("trained_without (--trained-without) goes with drop_stage (--drop-stage N)")
    if drop_stage is not None:
        from .pruning import check_stage

        check_stage(net, drop_stage)
    picked = choose("SE blocks", blocks, list(all_blocks), default_blocks(_data.se_blocks(net)))
    idx = _data.per_class_indices(dataset, list(range(len(names))), samples)
    subset = torch.utils.data.Subset(dataset, [i for c in sorted(idx) for i in idx[c]])
    s, labels = record(net, {n: all_blocks[n] for n in picked}, subset, device)
    result = {
        "model": model,
        "checkpoint": None if checkpoint is None else str(checkpoint),
        "data": data,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
        "classes": chosen,
        "labels": {c: PAPER_CLASSES.get(c, f"class {c}") for c in chosen},  # what the plots write
        "all_classes": names,
        "samples_per_class": {names[c]: len(v) for c, v in idx.items()},
        "excitation": type(all_blocks[picked[0]].gate_fn).__name__.lower(),
        "range": list(gate_range(all_blocks[picked[0]])),
        "blocks": {n: _block_entry(s[n], labels, names) for n in picked},
    }
    if drop_stage is not None:
        result["drop_stage"] = stage_pruning(
            model,
            checkpoint,
            drop_stage,
            data=data,
            device=device,
            trained_without=trained_without,
            **options,
        )
    if out is not None:
        write(result, out)
    return result


def _block_entry(s: torch.Tensor, labels: torch.Tensor, names: list[str]) -> dict:
    present = [int(c) for c in labels.unique()]
    return {
        "channels": s.shape[1],
        "fig6_channels": sampled_channels(s.shape[1]),
        **block_statistics(s, labels),  # specificity and eta^2 are ours, beyond the paper's figures
        "all_mean": _round(s.mean(0)),
        "class_means": {names[c]: _round(s[labels == c].mean(0)) for c in present},
        "class_stds": {names[c]: _round(s[labels == c].std(0, unbiased=False)) for c in present},
        "vectors": {names[c]: [_round(v) for v in s[labels == c]] for c in present},
    }


def _round(t: torch.Tensor) -> list[float]:
    return [round(float(v), 5) for v in t]


def write(result: dict, out) -> Path:
    """``excitations.json``, the figures and ``summary.md`` into ``out``."""
    from . import plots

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SenetError(f"--out {str(out)!r} is a file; the analysis writes a directory of files")
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "excitations.json", json.dumps(result))
    plots.class_means(result, out / "fig6_class_means.png")
    plots.distributions(result, out / "fig7_distribution.png")
    plots.specificity(result, out / "specificity.png")
    write_text(out / "summary.md", summary_markdown(result))
    return out


def summary_markdown(result: dict) -> str:
    """The per-block statistic (and the pruning result) as a markdown table."""
    lines = [
        f"# Excitations of {result['model']} on {result['data']} (Sec. 7.2)",
        "",
        f"Checkpoint: {result['checkpoint'] or 'none (random initialisation)'}; classes plotted: "
        f"{', '.join(result['classes'])}; gate: {result['excitation']} in {result['range']}.",
        "",
        "| block | channels | specificity (ours) | eta^2 (ours) | saturation (s>=0.99) | mean s |",
        "|---|---|---|---|---|---|",
    ]
    for name, b in result["blocks"].items():
        lines.append(
            f"| {name} | {b['channels']} | {b['specificity']:.3f} | {b['eta2']:.3f} | "
            f"{b['saturation']:.3f} | {b['mean']:.3f} |"
        )
    if "drop_stage" in result:
        from .pruning import pruning_markdown

        lines += ["", *pruning_markdown(result["drop_stage"])]
    return "\n".join(lines) + "\n"


def stage_pruning(model: str, checkpoint, stage: int, **kw) -> dict:
    """See :func:`senet.analysis.pruning.stage_pruning` (SE blocks of one stage replaced by identity)."""
    from .pruning import stage_pruning as run

    return run(model, checkpoint, stage, **kw)
