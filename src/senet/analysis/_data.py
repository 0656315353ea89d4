"""What the analyses share: evaluation data (Sec. 7.2 uses 50 validation images per class, from
``senet.data``), a model's SE blocks, and the options a checkpoint was trained with.

The validation split and its transform are those ``senet eval`` uses (``senet.evaluation.evaluator``): the native
size for digits/CIFAR/synthetic, resize 256 + centre crop 224 for ImageNet-style folders (PAPER.md sec. 8).
"""

from __future__ import annotations

import json
from pathlib import Path

from torch import nn
from torch.utils.data import Dataset

from .. import data as D
from ..errors import SenetError


def se_blocks(model: nn.Module) -> dict:
    """The model's live SE blocks (``senet.models.base.SEBlock``) by the paper's names (SE_<stage>_<block>);
    a clear error for a model without any."""
    blocks = {b.name: b for b in model.se_blocks()} if hasattr(model, "se_blocks") else {}
    if not blocks:
        name = getattr(model, "model_name", type(model).__name__)
        raise SenetError(f"{name} has no SE blocks to analyse; choose an SE model (see `senet list 'se_*'`)")
    return blocks


def load_model(model: str, checkpoint, classes: list[str], options: dict) -> tuple[nn.Module, dict]:
    """The model to analyse, built with the options its checkpoint was trained with (overridden by
    ``options``); weights trained on other classes than the data's are refused."""
    from ..models.factory import create_model

    options = run_options(model, checkpoint, options)
    if checkpoint is not None:
        from ..hub.weights import check_classes, read_weights

        if not isinstance(checkpoint, str | Path):
            raise SenetError(f"checkpoint must be a path, got {type(checkpoint).__name__}")
        check_classes(read_weights(checkpoint)[1], classes, repr(str(checkpoint)))
    return create_model(model, num_classes=len(classes), checkpoint=checkpoint, **options), options


def run_options(model: str, checkpoint, options: dict) -> dict:
    """The SE options a checkpoint was trained with, read from its run directory (``config.json`` of
    ``senet train``/``senet ablate``), overridden by ``options``; a run of another model is refused."""
    cfg_path = Path(checkpoint).parent / "config.json" if checkpoint is not None else None
    if cfg_path is None or not cfg_path.is_file():
        return dict(options)
    try:
        cfg = json.loads(cfg_path.read_text()).get("config", {})
    except (json.JSONDecodeError, AttributeError):
        return dict(options)
    if cfg.get("model") and cfg["model"] != model:
        raise SenetError(
            f"{checkpoint} is a checkpoint of {cfg['model']}, not {model}; pass --model {cfg['model']}"
        )
    saved = {k: tuple(v) if isinstance(v, list) else v for k, v in (cfg.get("model_options") or {}).items()}
    return {**saved, **options}


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
    """Top-1/top-5 error (%) of a module on the validation split, by ``senet.evaluation.evaluator`` (Table 2 metrics)."""
    from ..evaluation.evaluator import evaluate

    return evaluate(model, data=data, device=device, workers=0)
