"""``add_se``: SE blocks for an existing residual network (torchvision, timm or senet ResNets).

Each residual block gets one SE block in the paper's standard position (Fig. 3, PAPER.md section 2): on
the residual branch, after the last conv + BN, before the addition with the shortcut; the ReLU follows
the addition. The added parameters are the paper's (Sec. 3.2): 2C^2/r per block, plus C/r + C with biases.
Module names follow timm (``layer1.0.se.fc1``), so a retrofitted torchvision ResNet has the state_dict
layout of ``senet.create_model("se_resnet50", layout="torchvision")``.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from .errors import SenetError
from .layers import SEConfig

SUPPORTED = (
    "torchvision resnet*/resnext*/wide_resnet* (BasicBlock, Bottleneck), "
    "timm resnet*/resnext* (BasicBlock, Bottleneck) and senet's plain ResNets"
)


def _tv_forward(self, x: torch.Tensor) -> torch.Tensor:
    """torchvision's BasicBlock/Bottleneck forward with ``self.se`` before the addition."""
    identity = x if self.downsample is None else self.downsample(x)
    out = self.relu(self.bn1(self.conv1(x)))
    if hasattr(self, "conv3"):
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
    else:
        out = self.bn2(self.conv2(out))
    return self.relu(self.se(out) + identity)


class SEBasicBlock(tv_resnet.BasicBlock):
    """torchvision's BasicBlock with an SE block on the residual branch (a retrofitted block's class)."""

    forward = _tv_forward


class SEBottleneck(tv_resnet.Bottleneck):
    """torchvision's Bottleneck with an SE block on the residual branch (a retrofitted block's class)."""

    forward = _tv_forward


_TV_SE: dict[type, type] = {tv_resnet.BasicBlock: SEBasicBlock, tv_resnet.Bottleneck: SEBottleneck}


def _block_kind(m: nn.Module) -> str | None:
    """Which family a residual block belongs to: "torchvision", "timm", "senet", or None."""
    cls = type(m)
    if cls in _TV_SE.values():
        return "torchvision"
    if cls.__name__ not in ("BasicBlock", "Bottleneck"):
        return None
    return {
        "torchvision.models.resnet": "torchvision",
        "timm.models.resnet": "timm",
        "senet.models.resnet": "senet",
    }.get(cls.__module__)


def _has_se(m: nn.Module, kind: str) -> bool:
    return type(m) in _TV_SE.values() if kind == "torchvision" else getattr(m, "se", None) is not None


def _channels(m: nn.Module) -> int:
    """C of the residual branch: the last BN's width."""
    return (m.bn3 if hasattr(m, "bn3") else m.bn2).num_features


def _stage(name: str) -> int | None:
    """Paper stage of a block from its module path: ``layer1`` = conv2_x = stage 2 ... ``layer4`` = 5."""
    found = re.findall(r"(?:^|\.)layer(\d+)(?:\.|$)", name)
    return int(found[-1]) + 1 if found else None


def _config(reduction: int, options: dict) -> SEConfig:
    allowed = ("squeeze", "excitation", "bias", "stages")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SenetError(f"add_se does not take {unknown}; allowed options: reduction, {', '.join(allowed)}")
    return SEConfig.from_options(reduction=reduction, **options).check(("standard",), (2, 3, 4, 5))


def add_se(model: nn.Module, reduction: int = 16, **se_options) -> nn.Module:
    """Insert an SE block (r = ``reduction``) into every residual block of ``model``, in place; return it.

    ``se_options``: ``squeeze``, ``excitation``, ``bias`` (SE block options) and ``stages`` (paper
    numbering, 2..5 = ``layer1``..``layer4``). A model without supported residual blocks, or one that
    already has SE blocks, raises :class:`SenetError` and is left unchanged.
    """
    if not isinstance(model, nn.Module):
        raise SenetError(f"add_se needs a torch.nn.Module, got {type(model).__name__}")
    cfg = _config(reduction, se_options)
    blocks = [(n, m, k) for n, m in model.named_modules() if (k := _block_kind(m))]
    if not blocks:
        raise SenetError(
            f"add_se cannot handle {type(model).__name__}: it has no residual blocks it knows; "
            f"supported: {SUPPORTED}"
        )
    already = [n for n, m, k in blocks if _has_se(m, k)]
    if already:
        raise SenetError(f"{type(model).__name__} already has SE blocks (e.g. in {already[0]!r})")
    if any(_stage(n) is None for n, _, _ in blocks) and cfg.stages is not None:
        raise SenetError("stages= needs blocks inside layer1..layer4; this model's blocks are elsewhere")
    # Build every SE block first (a bad reduction fails here), then attach: nothing changes on error.
    chosen = [(m, k) for n, m, k in blocks if cfg.stages is None or cfg.in_stage(_stage(n))]
    ref = next(model.parameters(), None)
    where = dict(device=ref.device, dtype=ref.dtype) if ref is not None else {}
    new = [cfg.block(_channels(m)).to(**where) for m, _ in chosen]
    for (m, kind), se in zip(chosen, new):
        m.se = se
        if kind == "torchvision":
            m.__class__ = _TV_SE[type(m)]
        elif kind == "senet":
            m.placement = "standard"  # the unit's forward then calls m.se before the addition
    return model
