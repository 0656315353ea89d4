"""BN-Inception (Ioffe & Szegedy 2015), plain and SE, as in the official SE-BN-Inception prototxt.

SE-Inception (Fig. 2, Table 2): one SE block on the concatenated output of each of the 10 Inception
modules (3a, 3b, 3c, 4a-4e, 5a, 5b); hidden sizes 16, 20, 36, 36, 36, 38, 38, 66, 64, 64 (PAPER.md
section 2). Every conv is bias-free and followed by BN (with its affine scale and shift), as in the Caffe
model: SE-BN-Inception has exactly 11,931,622 parameters (PAPER.md section 4). Pools use Caffe's ceil mode (224 -> 112 -> 56 -> 28 -> 14 -> 7).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .registry import Family, register_family


class ConvBN(nn.Sequential):
    """conv (no bias) -> BN -> ReLU."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int | tuple[int, int],
        stride: int = 1,
        padding=None,
        bias: bool = False,
        eps: float = 1e-5,
    ):
        super().__init__()
        k2 = (k, k) if isinstance(k, int) else k
        pad = tuple(s // 2 for s in k2) if padding is None else padding
        self.conv = nn.Conv2d(cin, cout, k2, stride, pad, bias=bias)
        self.bn = nn.BatchNorm2d(cout, eps=eps)
        self.relu = nn.ReLU(inplace=True)


@dataclass(frozen=True)
class InceptionSpec:
    """One Inception module of BN-Inception (Ioffe & Szegedy 2015, Fig. 5 / Table 1).

    ``b1``: 1x1 width (0 = none); ``b3``: (reduce, out) of the 3x3 branch; ``b33``: (reduce, out) of the
    double-3x3 branch; ``pool``: "avg" or "max"; ``proj``: the pool projection width (0 = pass-through);
    ``stride``: 2 for the grid-reduction modules 3c and 4e.
    """

    name: str
    b1: int
    b3: tuple[int, int]
    b33: tuple[int, int]
    pool: str
    proj: int
    stride: int = 1


MODULES = (
    InceptionSpec("3a", 64, (64, 64), (64, 96), "avg", 32),
    InceptionSpec("3b", 64, (64, 96), (64, 96), "avg", 64),
    InceptionSpec("3c", 0, (128, 160), (64, 96), "max", 0, stride=2),
    InceptionSpec("4a", 224, (64, 96), (96, 128), "avg", 128),
    InceptionSpec("4b", 192, (96, 128), (96, 128), "avg", 128),
    InceptionSpec("4c", 160, (128, 160), (128, 160), "avg", 128),
    InceptionSpec("4d", 96, (128, 192), (160, 192), "avg", 128),
    InceptionSpec("4e", 0, (128, 192), (192, 256), "max", 0, stride=2),
    InceptionSpec("5a", 352, (192, 320), (160, 224), "avg", 128),
    InceptionSpec("5b", 352, (192, 320), (192, 224), "max", 128),
)


class InceptionModule(nn.Module):
    """Four parallel branches, concatenated along channels, then (SE-Inception) an SE block (Fig. 2)."""

    def __init__(self, cin: int, spec: InceptionSpec, se: SEConfig | None):
        super().__init__()
        s = spec.stride
        self.branch1x1 = ConvBN(cin, spec.b1, 1) if spec.b1 else None
        self.branch3x3 = nn.Sequential(ConvBN(cin, spec.b3[0], 1), ConvBN(spec.b3[0], spec.b3[1], 3, s))
        r, o = spec.b33
        self.branch3x3dbl = nn.Sequential(ConvBN(cin, r, 1), ConvBN(r, o, 3), ConvBN(o, o, 3, s))
        if s == 2:
            self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True))
        else:
            pool = (
                nn.AvgPool2d(3, 1, 1, ceil_mode=True, count_include_pad=True)
                if spec.pool == "avg"
                else nn.MaxPool2d(3, 1, 1, ceil_mode=True)
            )
            self.branch_pool = nn.Sequential(pool, ConvBN(cin, spec.proj, 1))
        self.out_channels = spec.b1 + spec.b3[1] + o + (spec.proj or cin)
        self.se = se.block(self.out_channels) if se is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch3x3(x), self.branch3x3dbl(x), self.branch_pool(x)]
        if self.branch1x1 is not None:
            branches.insert(0, self.branch1x1(x))
        out = torch.cat(branches, 1)
        return out if self.se is None else self.se(out)


class BNInception(Classifier):
    """conv1 7x7/2 -> pool -> conv2 (1x1, 3x3) -> pool -> 3a..3c -> 4a..4e -> 5a, 5b -> pool -> fc."""

    def build(self, spec: tuple[InceptionSpec, ...], se, in_chans, **_) -> int:
        self.conv1 = ConvBN(in_chans, 64, 7, 2)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2_reduce = ConvBN(64, 64, 1)
        self.conv2 = ConvBN(64, 192, 3)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        cin, modules = 192, OrderedDict()
        for m in spec:
            modules[f"inception_{m.name}"] = InceptionModule(cin, m, se)
            cin = modules[f"inception_{m.name}"].out_channels
        self.inception = nn.Sequential(modules)
        return cin

    def stages(self):
        """Grids 3, 4 and 5: modules 3a-3c, 4a-4e, 5a-5b."""
        grids: dict[str, list[nn.Module]] = {}
        for name, module in self.inception.named_children():
            grids.setdefault(name[len("inception_")], []).append(module)
        return list(grids.items())

    def se_name(self, stage, index: int) -> str:
        """``SE_3a`` .. ``SE_5b``: the SE after each Inception module (the prototxt's names)."""
        return f"SE_{stage}{'abcde'[index - 1]}"


register_family(Family("inception", BNInception, info={"recipe": "imagenet"}), {"bn_inception": MODULES})
