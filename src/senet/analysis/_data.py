"""Evaluation data for the analyses (Sec. 7.2 uses 50 validation images per class), from ``senet.data``.

The validation split and its transform are those ``senet eval`` uses (``senet.evaluation``): the native
size for digits/CIFAR/synthetic, resize 256 + centre crop 224 for ImageNet-style folders (PAPER.md sec. 8).
"""

from __future__ import annotations

from torch.utils.data import Dataset

from .. import data as D


def eval_set(data: str) -> tuple[Dataset, list[str]]:
    """The validation split of ``data`` and its class names (bad specs raise ``DataError``)."""
    kind, _ = D.parse(data)
    crop = 224 if kind == "imagefolder" else None
    resize = round(crop / 0.875) if crop else None
    views = D.Views(eval_resize=resize, eval_crop=crop, train_size=crop or 32)
    _, val, classes, _ = D.build(data, views)
    return val, list(classes)


def per_class_indices(dataset: Dataset, classes: list[int], samples: int) -> dict[int, list[int]]:
    """The first ``samples`` indices of each class in ``classes`` (deterministic, as in Sec. 7.2)."""
    picked: dict[int, list[int]] = {c: [] for c in classes}
    for i, t in enumerate(dataset.targets):
        t = int(t)
        if t in picked and len(picked[t]) < samples:
            picked[t].append(i)
    return picked


def batches(dataset: Dataset, batch_size: int = 128):
    """(images, targets) in order; unreadable images are dropped as the engine's loader does."""
    for images, targets, _ in D.loader(dataset, batch_size):
        if len(targets):
            yield images, targets


def top_errors(model, data: str, device: str | None) -> dict:
    """Top-1/top-5 error (%) of a module on the validation split, by ``senet.evaluation`` (Table 2 metrics)."""
    from ..evaluation import evaluate

    return evaluate(model, data=data, device=device, workers=0)
