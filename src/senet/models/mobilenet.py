"""MobileNet v1 (Howard et al. 2017, width 1.0, 224), plain and SE (Table 3; PAPER.md section 2).

The paper does not fix SE's place in MobileNet ("similar schemes"). We put one SE block (r=16) after each
of the 13 depthwise-separable blocks, on the pointwise conv's output after its ReLU: +0.48M parameters
(4.23M -> 4.72M) and +0.49M multiply-adds, which reproduces Table 3's 4.2M -> 4.7M (docs/models.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .registry import Family, register_family


@dataclass(frozen=True)
class MobileNetSpec:
    """Stem width and (output channels, stride) of each depthwise-separable block (MobileNet Table 1)."""

    stem: int
    blocks: tuple[tuple[int, int], ...]
    dropout: float = 0.0


SPECS = {
    "mobilenet": MobileNetSpec(
        32,
        ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *((512, 1),) * 5, (1024, 2), (1024, 1)),
    ),
}


def conv_bn_relu(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    ]


class DepthwiseSeparable(nn.Module):
    """3x3 depthwise conv -> BN -> ReLU -> 1x1 conv -> BN -> ReLU -> (SE)."""

    def __init__(self, cin: int, cout: int, stride: int, se: SEConfig | None):
        super().__init__()
        self.dw = nn.Sequential(*conv_bn_relu(cin, cin, 3, stride, groups=cin))
        self.pw = nn.Sequential(*conv_bn_relu(cin, cout, 1))
        self.se = se.block(cout) if se is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pw(self.dw(x))
        return x if self.se is None else self.se(x)


class MobileNet(Classifier):
    """stem (3x3/2) -> 13 depthwise-separable blocks -> global pool -> fc."""

    def build(self, spec: MobileNetSpec, se, in_chans, **_) -> int:
        self.stem = nn.Sequential(*conv_bn_relu(in_chans, spec.stem, 3, 2))
        blocks, cin = [], spec.stem
        for cout, stride in spec.blocks:
            blocks.append(DepthwiseSeparable(cin, cout, stride, se))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        return cin

    def stages(self):
        """One group: ``SE_<i>`` is the SE after the i-th depthwise-separable block (i = 1..13)."""
        return [(None, self.blocks)]


register_family(Family("mobilenet", MobileNet, info={"recipe": "mobile"}), SPECS)
