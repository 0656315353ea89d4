"""``add_se``: SE blocks for an existing CNN, found from its graph (PAPER.md section 2; Sec. 3.3).

Residual networks whose blocks it knows (torchvision, timm and senet ResNets) keep the block swap of
issue 3: one SE block per residual block in the paper's standard position (Fig. 3): on the residual branch,
after the last conv + BN, before the addition with the shortcut; module names follow timm (``layer1.0.se.
fc1``), so a retrofitted torchvision ResNet has the state_dict layout of ``senet.create_model("se_resnet50",
layout="torchvision")``. Every other network is read from its ``torch.fx`` graph (``senet.retrofit.graph``: residual
additions, Inception and DenseNet concatenations, depthwise-separable and plain conv units) and the blocks are
attached by ``senet.retrofit.hosts`` without renaming an existing key. The added parameters are the paper's
(Sec. 3.2): 2C^2/r per block, plus C/r + C with biases; ``model.se_points`` says where each block went.
"""

from __future__ import annotations

import re

import torch
from torch import nn
from torchvision.models import resnet as tv_resnet

from ..errors import SenetError
from ..layers.se import SEConfig, SqueezeExcitation
from .points import SEPoint, matches
from .points import patterns as where_patterns

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


GRAPH_PLACEMENTS = ("standard", "post")


def _config(reduction: int, placement: str, options: dict, graph: bool) -> SEConfig:
    allowed = ("squeeze", "excitation", "bias", "stages")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SenetError(
            f"add_se does not take {unknown}; allowed options: reduction, placement, where, {', '.join(allowed)}"
        )
    cfg = SEConfig.from_options(reduction=reduction, placement=placement, **options)
    if not graph and placement != "standard":
        raise SenetError(
            f"add_se does not take placement={placement!r} for ResNet blocks (their swapped block has the "
            "standard position only); senet's own se_resnet* models offer pre, post, identity and 3x3"
        )
    if graph and placement not in GRAPH_PLACEMENTS:
        raise SenetError(
            f"add_se places SE blocks {' or '.join(GRAPH_PLACEMENTS)} in a graph, not {placement!r} "
            "(SE-PRE/Identity/3x3 need the unit's own code: senet's se_resnet* models offer them)"
        )
    return cfg


def add_se(
    model: nn.Module, reduction: int = 16, placement: str = "standard", where=None, **se_options
) -> nn.Module:
    """Insert SE blocks (r = ``reduction``) into ``model`` where the paper puts them, in place; return it.

    ``placement``: "standard" (Fig. 3: before each residual addition; after each Inception module, each
    MobileNet pointwise projection, each plain conv's non-linearity) or "post" (Table 14, SE-POST: after
    the addition; graph path only). ``where``: module-name patterns (fnmatch, e.g. ``"features.*"``) the
    blocks' hosts must match. ``se_options``: ``squeeze``, ``excitation``, ``bias`` (the block's) and
    ``stages`` (log2 of the output stride: 2..5 = ResNets' ``layer1``..``layer4``). ``model.se_points``
    (:class:`SEPoint` rows, :func:`format_se_points`) says where blocks went and ``model.se_skipped`` which
    places already had SE. A model it cannot trace, where it finds no place, or that already has SE in
    every place, raises :class:`SenetError` and is left unchanged.
    """
    if not isinstance(model, nn.Module):
        raise SenetError(f"add_se needs a torch.nn.Module, got {type(model).__name__}")
    patterns = where_patterns(where)
    blocks = [(n, m, k) for n, m in model.named_modules() if (k := _block_kind(m))]
    cfg = _config(reduction, placement, se_options, graph=not blocks)
    if blocks:
        points, skipped = _add_to_resnet(model, cfg, blocks, patterns), ()
    else:
        from .graph import add_by_graph

        points, skipped = add_by_graph(model, cfg, patterns)
    model.se_points, model.se_skipped = tuple(points), tuple(skipped)
    model.se_config, model.se_where = cfg, patterns
    return model


def _add_to_resnet(model: nn.Module, cfg: SEConfig, blocks, patterns) -> list[SEPoint]:
    cfg.check(("standard",), (2, 3, 4, 5))
    already = [n for n, m, k in blocks if _has_se(m, k)]
    if already:
        raise SenetError(f"{type(model).__name__} already has SE blocks (e.g. in {already[0]!r})")
    if any(_stage(n) is None for n, _, _ in blocks) and cfg.stages is not None:
        raise SenetError("stages= needs blocks inside layer1..layer4; this model's blocks are elsewhere")
    # Build every SE block first (a bad reduction fails here), then attach: nothing changes on error.
    chosen = [(n, m, k) for n, m, k in blocks if cfg.in_stage(_stage(n)) and matches(n, patterns)]
    if not chosen:
        raise SenetError(
            f"where={list(patterns)} matches none of the residual blocks (e.g. {blocks[0][0]!r})"
        )
    ref = next(model.parameters(), None)
    dev = dict(device=ref.device, dtype=ref.dtype) if ref is not None else {}
    new = [cfg.block(_channels(m)).to(**dev) for _, m, _ in chosen]
    points = []
    for (name, m, kind), se in zip(chosen, new):
        m.se = se
        if kind == "torchvision":
            m.__class__ = _TV_SE[type(m)]
        elif kind == "senet":
            m.placement = "standard"  # the unit's forward then calls m.se before the addition
        path = f"{name}.se" if name else "se"
        points.append(SEPoint(path, "residual", se.channels, se.hidden, _stage(name), cfg.bias))
    return points


def has_se(model: nn.Module) -> bool:
    """Whether any module of ``model`` is senet's SE block."""
    return any(isinstance(m, SqueezeExcitation) for m in model.modules())
