"""Shake-Shake (Gastaldi 2017) CIFAR networks, plain and SE (Tables 4 and 5).

- ``shake_shake26_2x96d``: 26 layers, 3 stages x 4 residual blocks of two 3x3 branches, widths 96/192/384,
  "Shake-Shake-Image": independent random per-image weights forward and backward (26.2M parameters).
- ``shake_even29_2x4x64d``: 29 layers, 3 stages x 3 blocks of two ResNeXt bottleneck branches (4 groups
  x 64d), widths 256/512/1024, "Shake-Even-Image": random per-image forward weights, 0.5 backward (34.4M).
In eval mode both branches weigh 0.5. SE (standard) on the merged residual before the addition.
Cutout is data augmentation (the training engine), not part of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import SEConfig
from ..registry import Family, register_family
from .base import Classifier
from .cifar import CIFAR_FAMILY_INFO, CIFAR_PLACEMENTS, SEResidual

MODES = ("shake", "even")


def shake(a: torch.Tensor, b: torch.Tensor, backward: str, training: bool) -> torch.Tensor:
    """``alpha a + (1 - alpha) b`` with per-image alpha ~ U(0, 1); gradients weighted by beta.

    beta ~ U(0, 1) drawn independently ("shake") or 0.5 ("even"). The detached term carries the forward
    value alpha while autograd sees beta; in eval, alpha = beta = 0.5.
    """
    if not training:
        return 0.5 * (a + b)
    alpha = torch.rand_like(a[:, :1, :1, :1])  # one weight per image
    beta = torch.rand_like(alpha) if backward == "shake" else torch.full_like(alpha, 0.5)
    return beta * a + (1 - beta) * b + ((alpha - beta) * (a - b)).detach()


def relu_conv_bn(cin, cout, k, stride=1, groups=1) -> list[nn.Module]:
    return [
        nn.ReLU(inplace=False),
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class ShakeShortcut(nn.Module):
    """Shake-Shake's projection: ReLU, then two 1x1 convs (cout/2 each) on the strided input and on the
    input shifted by one pixel, concatenated, then BN (Gastaldi 2017, Sec. 2.2.2)."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(cin, cout // 2, 1, bias=False)
        self.conv2 = nn.Conv2d(cin, cout - cout // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(x)
        a = x[:, :, :: self.stride, :: self.stride]
        b = F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))[:, :, :: self.stride, :: self.stride]
        return self.bn(torch.cat((self.conv1(a), self.conv2(b)), 1))


class ShakeBlock(SEResidual):
    """Two residual branches mixed by :func:`shake`, plus the shortcut (and the SE slot)."""

    def __init__(self, cin, cout, stride, spec: ShakeSpec, mid: int, se: SEConfig | None):
        super().__init__()
        self.mode = spec.backward
        self.branch1, self.branch2 = (self._branch(cin, cout, stride, spec, mid) for _ in range(2))
        self.shortcut = ShakeShortcut(cin, cout, stride) if (stride != 1 or cin != cout) else None
        self.set_se(se, cin, cout)

    @staticmethod
    def _branch(cin, cout, stride, spec, mid):
        if spec.groups is None:  # 3x3 -> 3x3
            return nn.Sequential(*relu_conv_bn(cin, cout, 3, stride), *relu_conv_bn(cout, cout, 3))
        return nn.Sequential(
            *relu_conv_bn(cin, mid, 1),
            *relu_conv_bn(mid, mid, 3, stride, spec.groups),
            *relu_conv_bn(mid, cout, 1),
        )

    def residual(self, x, pre_se=None):
        b = x if pre_se is None else pre_se(x)
        out = shake(self.branch1(b), self.branch2(b), self.mode, self.training)
        return out, (x if self.shortcut is None else self.shortcut(x))


@dataclass(frozen=True)
class ShakeSpec:
    depth: int  # blocks per stage
    widths: tuple[int, int, int]
    stem_width: int
    backward: str  # "shake" (Shake-Shake-Image) | "even" (Shake-Even-Image)
    groups: int | None = None  # ResNeXt branches: groups of the 3x3 conv; None = two 3x3 convs
    mid: tuple[int, int, int] | None = None  # bottleneck width of each branch
    stage_ids = (2, 3, 4)


class ShakeResNet(Classifier):
    """conv 3x3 + BN -> stages 2..4 of shake blocks -> ReLU -> global pool -> fc."""

    def build(self, spec: ShakeSpec, se, in_chans, **_) -> int:
        self.stem = nn.Sequential(
            nn.Conv2d(in_chans, spec.stem_width, 3, 1, 1, bias=False), nn.BatchNorm2d(spec.stem_width)
        )
        cin = spec.stem_width
        for i, (stage, cout) in enumerate(zip(spec.stage_ids, spec.widths)):
            blocks = []
            for b in range(spec.depth):
                stride = 2 if (b == 0 and i > 0) else 1
                mid = spec.mid[i] if spec.mid else cout
                unit_se = se if (se and se.in_stage(stage)) else None
                blocks.append(ShakeBlock(cin, cout, stride, spec, mid, unit_se))
                cin = cout
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.final = nn.ReLU()
        return cin

    def stages(self):
        return list(zip(self.spec.stage_ids, (self.layer1, self.layer2, self.layer3)))


SPECS = {
    "shake_shake26_2x96d": ShakeSpec(4, (96, 192, 384), 16, "shake"),
    "shake_even29_2x4x64d": ShakeSpec(3, (256, 512, 1024), 64, "even", groups=4, mid=(256, 512, 1024)),
}
register_family(
    Family("cifar_shake", ShakeResNet, CIFAR_PLACEMENTS, info=CIFAR_FAMILY_INFO),
    SPECS,
    row_info={"shake_even29_2x4x64d": {"num_classes": 100}},  # Table 5 is CIFAR-100
)
