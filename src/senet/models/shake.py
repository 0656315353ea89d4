"""Shake-Shake (Gastaldi 2017) CIFAR networks, plain and SE (Tables 4 and 5).

- ``shake_shake26_2x96d``: 26 layers, 3 stages x 4 residual blocks of two 3x3 branches, widths 96/192/384,
  "Shake-Shake-Image": independent random per-image weights forward and backward (26.2M parameters).
- ``shake_even29_2x4x64d`` (CIFAR-100): 29 layers, 3 stages x 3 units of two ResNeXt branches (4 groups x
  64d), widths 256/512/1024, "Shake-Even-Image": random per-image forward weights, 0.5 backward (34.5M).
  As Gastaldi built it (xgastaldi/shake-shake, ``shakeshake.lua``, ``resnext_bottleneck_C``): a post-
  activation unit, each branch conv1x1-BN-ReLU-grouped conv3x3-BN-ReLU-conv1x1-BN, ReLU after the
  addition, a 1x1 conv + BN projection shortcut where the shape changes, a conv-BN-ReLU stem.
In eval mode both branches weigh 0.5. SE (standard) on the mixed branches before the addition.
Cutout is data augmentation (the training engine), not part of the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .cifar import CIFAR_FAMILY_INFO, CIFAR_PLACEMENTS, SEResidual
from .registry import Family, register_family

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
    """Shake-Shake 26 (CIFAR-10): two ReLU-conv-BN branches mixed by :func:`shake`, plus the shortcut."""

    def __init__(self, cin, cout, stride, spec: ShakeSpec, se: SEConfig | None):
        super().__init__()
        self.mode = spec.backward
        self.branch1, self.branch2 = (
            nn.Sequential(*relu_conv_bn(cin, cout, 3, stride), *relu_conv_bn(cout, cout, 3)) for _ in range(2)
        )
        self.shortcut = ShakeShortcut(cin, cout, stride) if (stride != 1 or cin != cout) else None
        self.set_se(se, cin, cout)

    def residual(self, x, pre_se=None):
        b = x if pre_se is None else pre_se(x)
        out = shake(self.branch1(b), self.branch2(b), self.mode, self.training)
        return out, (x if self.shortcut is None else self.shortcut(x))


def conv_bn_relu(cin, cout, k, stride=1, groups=1, relu=True) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        *([nn.ReLU(inplace=True)] if relu else []),
    ]


class ShakeResNeXtBlock(SEResidual):
    """Shake-Even 29 (CIFAR-100): two post-activation ResNeXt branches (conv1x1-BN-ReLU-grouped 3x3-BN-ReLU-
    conv1x1-BN) mixed by :func:`shake`, a conv1x1 + BN projection where the shape changes, ReLU after the sum."""

    def __init__(self, cin, cout, stride, spec: ShakeSpec, mid: int, se: SEConfig | None):
        super().__init__()
        self.mode = spec.backward
        self.branch1, self.branch2 = (
            nn.Sequential(
                *conv_bn_relu(cin, mid, 1),
                *conv_bn_relu(mid, mid, 3, stride, spec.groups),
                *conv_bn_relu(mid, cout, 1, relu=False),
            )
            for _ in range(2)
        )
        self.shortcut = (
            nn.Sequential(*conv_bn_relu(cin, cout, 1, stride, relu=False))
            if (stride != 1 or cin != cout)
            else None
        )
        self.set_se(se, cin, cout)
        self.relu = nn.ReLU(inplace=True)

    def residual(self, x, pre_se=None):
        b = x if pre_se is None else pre_se(x)
        out = shake(self.branch1(b), self.branch2(b), self.mode, self.training)
        return out, (x if self.shortcut is None else self.shortcut(x))

    def finish(self, out):
        return self.relu(out)


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
    """conv 3x3 + BN (+ ReLU) -> stages 2..4 of shake units -> (ReLU) -> global pool -> fc."""

    def build(self, spec: ShakeSpec, se, in_chans, **_) -> int:
        resnext = spec.groups is not None
        self.stem = nn.Sequential(*conv_bn_relu(in_chans, spec.stem_width, 3, relu=resnext))
        cin = spec.stem_width
        for i, (stage, cout) in enumerate(zip(spec.stage_ids, spec.widths)):
            blocks = []
            for b in range(spec.depth):
                stride = 2 if (b == 0 and i > 0) else 1
                unit_se = se if (se and se.in_stage(stage)) else None
                if resnext:
                    blocks.append(ShakeResNeXtBlock(cin, cout, stride, spec, spec.mid[i], unit_se))
                else:
                    blocks.append(ShakeBlock(cin, cout, stride, spec, unit_se))
                cin = cout
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        if not resnext:  # Shake-Shake 26's units end with the addition: one ReLU before the pool
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
    # Table 5 is CIFAR-100. Revision 2: Gastaldi's post-activation ResNeXt units (the first was a CIFAR-10 unit).
    row_info={
        "shake_shake26_2x96d": {"recipe": "cifar-shake"},
        "shake_even29_2x4x64d": {"num_classes": 100, "revision": 2, "recipe": "cifar-shake-even"},
    },
)
