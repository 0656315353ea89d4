"""The model registry: ``register_model`` / ``create_model`` / ``list_models`` (torchvision ``_api.py`` style)."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from .errors import SenetError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelInfo:
    """Metadata per model (timm's ``pretrained_cfg`` fields): what the eval transform needs."""

    name: str
    family: str
    input_size: tuple[int, int, int] = (3, 224, 224)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    num_classes: int = 1000
    se: bool = False
    twin: str | None = None  # the plain (or SE) twin the paper compares against
    min_input_size: int = 32  # the smallest square input the model runs at (tests use it)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "extra"}
        d.update(self.extra)
        return d


_MODELS: dict[str, tuple[Callable[..., nn.Module], ModelInfo]] = {}


def register_model(name: str, builder: Callable[..., nn.Module], info: ModelInfo) -> None:
    """Register ``builder(num_classes=..., **options)`` under ``name``; a second registration raises."""
    if name in _MODELS:
        raise RuntimeError(f"model {name!r} is registered twice")
    _MODELS[name] = (builder, info)


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing the package registers every family)


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching a shell-style ``pattern`` (e.g. ``"se_*"``)."""
    _ensure_loaded()
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_info(name: str) -> ModelInfo:
    """The metadata of a registered model; unknown names fail with the closest matches."""
    _ensure_loaded()
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `senet list`"
        raise SenetError(f"unknown model {name!r}{hint}")
    return _MODELS[name][1]


def create_model(name: str, num_classes: int | None = None, checkpoint=None, **options) -> nn.Module:
    """Build a registered model, optionally loading ``checkpoint`` (a path to .pth/.pt/.safetensors).

    ``options`` are the model's keyword arguments, e.g. the SE knobs of the paper's ablations
    (``reduction``, ``squeeze``, ``excitation``, ``bias``, ``placement``, ``stages``) or ``layout``.
    """
    info = model_info(name)
    builder = _MODELS[name][0]
    allowed = [p for p in inspect.signature(builder).parameters if p != "num_classes"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        if info.twin and not info.se and set(unknown) & set(_SE_OPTIONS):
            raise SenetError(f"{name} has no SE blocks, so {unknown} do not apply; use {info.twin}")
        raise SenetError(f"{name} does not take {unknown}; allowed options: {', '.join(allowed)}")
    if num_classes is None:
        num_classes = info.num_classes
    if not isinstance(num_classes, int) or num_classes < 1:
        raise SenetError(f"num_classes must be a positive integer, got {num_classes!r}")
    model = builder(num_classes=num_classes, **options)
    model.model_name = name
    model.default_cfg = model.pretrained_cfg = {**info.as_dict(), "num_classes": num_classes}
    if checkpoint is not None:
        from .weights import load_weights

        load_weights(model, checkpoint)
    return model


_SE_OPTIONS = ("reduction", "squeeze", "excitation", "bias", "placement", "stages")
