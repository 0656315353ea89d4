"""The preprocessing a model's weights expect, as a torchvision v2 transform (timm's ``create_transform``).

Evaluation is the paper's protocol (Sec. 5.1): resize the shorter side to 256 and take the 224 centre
crop, i.e. ``round(size / crop_pct)`` with ``crop_pct = 224 / 256 = 0.875``; weights trained elsewhere
bring their own size, crop fraction, interpolation, mean and std (``model_info(name, tag)``,
``model.default_cfg``). Training is the random-resized crop and flip of Sec. 8.
"""

from __future__ import annotations

import numbers

import torch
from torch import nn
from torchvision.transforms import InterpolationMode, v2

from ..errors import SenetError, SenetTypeError

_INTERPOLATIONS = {
    "bilinear": InterpolationMode.BILINEAR,
    "bicubic": InterpolationMode.BICUBIC,
    "nearest": InterpolationMode.NEAREST,
}


def transforms(name_or_model: str | nn.Module, pretrained=None, train: bool = False) -> v2.Compose:
    """The transform that turns a PIL image (or a uint8 image tensor) into what the model's weights expect.

    ``name_or_model``: a registered name (its preprocessing, or with ``pretrained`` -- True for the default
    tag, or a tag name -- the preprocessing of those weights), or a module built by :func:`create_model`
    (its ``default_cfg``, which is the weights' own once pretrained weights are loaded).

    Evaluation (``train=False``), as the paper evaluates (Sec. 5.1: resize 256, centre crop 224) and as
    timm's eval transform: ``Resize(round(size / crop_pct))`` of the shorter side with the weights'
    interpolation, ``CenterCrop(size)``, float in [0, 1], ``Normalize(mean, std)``. The resize rounds
    (timm floors): 224 / (224 / 232) is 232, not 231, for torchvision's weights, and ``senet eval`` uses
    the same side. Training (``train=True``): ``RandomResizedCrop(size)`` (area 8-100 %, aspect 3/4-4/3)
    and a horizontal flip, then the same float conversion and normalisation.
    """
    cfg = _config(name_or_model, pretrained)
    size = _size(cfg["input_size"], cfg["where"])
    interpolation = cfg["interpolation"]
    if train:
        geometry = [
            v2.RandomResizedCrop(size, interpolation=interpolation, antialias=True),
            v2.RandomHorizontalFlip(),
        ]
    else:
        crop_pct = cfg["crop_pct"]
        if isinstance(size, tuple):  # H != W: both sides scaled, as timm does
            resize = tuple(round(s / crop_pct) for s in size)
        else:
            resize = round(size / crop_pct)
        geometry = [
            v2.Resize(resize, interpolation=interpolation, antialias=True),
            v2.CenterCrop(size),
        ]
    return v2.Compose(
        [
            *geometry,
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(cfg["mean"]), list(cfg["std"])),
        ]
    )


def _config(name_or_model, pretrained) -> dict:
    """input_size, crop_pct, interpolation (an InterpolationMode), mean, std: checked."""
    if isinstance(name_or_model, str):
        from ..models.factory import model_info

        info = model_info(name_or_model, pretrained)
        cfg, where = info.as_dict(), f"model_info({name_or_model!r})"
    elif isinstance(name_or_model, nn.Module):
        if pretrained is not None and pretrained is not False:
            raise SenetError(
                "pretrained applies to a model name; a module's default_cfg already is its weights' "
                "preprocessing (create_model(name, pretrained=...) sets it)"
            )
        cfg = getattr(name_or_model, "default_cfg", None)
        kind = type(name_or_model).__name__
        if not isinstance(cfg, dict) or any(k not in cfg for k in ("input_size", "mean", "std")):
            raise SenetError(
                f"this {kind} has no default_cfg with input_size, mean and std (models from "
                "senet.create_model have one): pass a registered model name, e.g. "
                "transforms('se_resnet50'), or set model.default_cfg = {'input_size': (3, 224, 224), "
                "'crop_pct': 0.875, 'interpolation': 'bilinear', 'mean': ..., 'std': ...}"
            )
        where = f"the {kind}'s default_cfg"
    else:
        raise SenetTypeError(
            f"transforms needs a registered model name or a torch.nn.Module, got {type(name_or_model).__name__}"
        )
    crop_pct = cfg.get("crop_pct", 0.875)
    if crop_pct is None:
        crop_pct = 1.0
    if not isinstance(crop_pct, numbers.Real) or isinstance(crop_pct, bool) or not 0 < crop_pct:
        raise SenetError(f"{where}: crop_pct must be a positive number, got {crop_pct!r}")
    name = cfg.get("interpolation", "bilinear")
    if name not in _INTERPOLATIONS:
        raise SenetError(
            f"{where}: interpolation {name!r} is not one of {', '.join(map(repr, _INTERPOLATIONS))}"
        )
    for key in ("mean", "std"):
        v = cfg[key]
        if not isinstance(v, list | tuple) or not v or not all(isinstance(x, numbers.Real) for x in v):
            raise SenetError(f"{where}: {key} must be a sequence of numbers (one per channel), got {v!r}")
    if any(s <= 0 for s in cfg["std"]):
        raise SenetError(f"{where}: std must be positive, got {cfg['std']!r}")
    return {
        "input_size": cfg["input_size"],
        "crop_pct": float(crop_pct),
        "interpolation": _INTERPOLATIONS[name],
        "mean": cfg["mean"],
        "std": cfg["std"],
        "where": where,
    }


def _size(input_size, where: str) -> int | tuple[int, int]:
    """(C, H, W) -> H for square inputs, else (H, W)."""
    ok = (
        isinstance(input_size, list | tuple)
        and len(input_size) in (2, 3)
        and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in input_size)
    )
    if not ok:
        raise SenetError(f"{where}: input_size must be (channels, height, width), got {input_size!r}")
    h, w = input_size[-2:]
    return h if h == w else (h, w)
