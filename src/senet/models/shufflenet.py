"""ShuffleNet v1 (Zhang et al. 2018, 1x, g=3), plain and SE (Table 3; PAPER.md section 2).

The paper does not fix SE's place in ShuffleNet. We put one SE block (r=16) on the residual branch of each
of the 16 units, before the merge with the shortcut (the addition, or the concatenation of the three
stride-2 units), as in SE-ResNet: +0.61M parameters, PAPER.md section 2 (on the concatenated output the
stride-2 units would add 0.72M). Stage 2's first branch has 216 = 240 - 24 channels, which r=16 does not
divide: its hidden width is floor(216/16) = 13. docs/models.md has the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .registry import Family, register_family


@dataclass(frozen=True)
class ShuffleNetSpec:
    """Groups, stem width, and (units, output channels) of stages 2..4 (ShuffleNet Table 1)."""

    groups: int
    stem: int
    stages: tuple[tuple[int, int], ...]
    dropout: float = 0.0

    @property
    def stage_ids(self) -> tuple[int, ...]:
        return tuple(range(2, len(self.stages) + 2))


SPECS = {"shufflenet_g3": ShuffleNetSpec(3, 24, ((4, 240), (8, 480), (4, 960)))}


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """(N, g * c, H, W) -> (N, c * g, H, W): the channels of each group spread over all groups."""
    return x.unflatten(1, (groups, -1)).transpose(1, 2).flatten(1, 2)


class ShuffleUnit(nn.Module):
    """1x1 group conv -> BN -> ReLU -> shuffle -> 3x3 depthwise (stride) -> BN -> 1x1 group conv -> BN.

    Stride 1: ``relu(se(branch(x)) + x)``; stride 2: ``relu(cat(se(branch(x)), avgpool(x)))``.
    """

    def __init__(self, cin: int, cout: int, stride: int, groups: int, first_groups: int, se: SEConfig | None):
        super().__init__()
        mid = cout // 4
        branch_out = cout - cin if stride == 2 else cout
        self.stride, self.groups = stride, groups
        self.conv1 = nn.Conv2d(cin, mid, 1, groups=first_groups, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, branch_out, 1, groups=groups, bias=False)
        self.bn3 = nn.BatchNorm2d(branch_out)
        self.relu = nn.ReLU(inplace=True)
        # floor(C/r) where r does not divide C (stage 2's first unit: 216 channels -> 13)
        self.se = se.block(branch_out, hidden=max(1, branch_out // se.reduction)) if se is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = channel_shuffle(out, self.groups) if self.groups > 1 else out
        out = self.bn3(self.conv3(self.bn2(self.conv2(out))))
        out = out if self.se is None else self.se(out)
        if self.stride == 2:
            return self.relu(torch.cat((out, F.avg_pool2d(x, 3, 2, 1)), 1))
        return self.relu(out + x)


class ShuffleNet(Classifier):
    """stem (3x3/2 conv, 3x3/2 max pool) -> stages 2..4 of shuffle units -> global pool -> fc."""

    def build(self, spec: ShuffleNetSpec, se, in_chans, **_) -> int:
        self.conv1 = nn.Conv2d(in_chans, spec.stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(spec.stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = spec.stem
        for i, (stage, (units, cout)) in enumerate(zip(spec.stage_ids, spec.stages)):
            blocks = []
            for u in range(units):
                # ShuffleNet Sec. 3.3: no group conv on the first pointwise layer of stage 2 (24 inputs).
                first_groups = 1 if (i == 0 and u == 0) else spec.groups
                unit_se = se if (se and se.in_stage(stage)) else None
                blocks.append(ShuffleUnit(cin, cout, 2 if u == 0 else 1, spec.groups, first_groups, unit_se))
                cin = cout
            self.add_module(f"stage{stage}", nn.Sequential(*blocks))
        return cin

    def stages(self):
        """``SE_<stage>_<unit>`` (stages 2..4, as ShuffleNet's Table 1 numbers them)."""
        return [(s, getattr(self, f"stage{s}")) for s in self.spec.stage_ids]


register_family(Family("shufflenet", ShuffleNet, info={"recipe": "mobile"}), SPECS)
