"""CIFAR networks of Tables 4 and 5, plain and SE: pre-activation ResNet-110 and ResNet-164, WRN-16-8.

Shake-Shake lives in ``shake.py``; the post-activation 6n+2 ResNets (20-56) in ``resnet.py``. All CIFAR nets share the
SE slot of :class:`SEResidual` (PAPER.md section 2): "standard" = on the residual branch before the addition,
"pre" / "post" / "identity" as in Table 14. Stages are numbered 2..4 (conv2..conv4 of the WRN paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .registry import CIFAR_INFO, Family, register_family

CIFAR_PLACEMENTS = ("standard", "pre", "post", "identity")


class SEResidual(nn.Module):
    """A residual unit with an SE slot; subclasses return ``(branch(x), shortcut(x))`` from ``residual``.

    ``finish`` is what follows the addition: nothing in the pre-activation nets (He et al. 2016b) and
    Shake-Shake 26, a ReLU in Shake-Even's post-activation ResNeXt units.
    """

    def residual(self, x: torch.Tensor, pre_se=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(branch output, shortcut); ``pre_se`` (SE-PRE) scales the branch's input only, not the shortcut."""
        raise NotImplementedError

    def set_se(self, se: SEConfig | None, cin: int, cout: int) -> None:
        self.placement = se.placement if se else None
        self.se = se.block(cin if self.placement == "pre" else cout) if se else None

    def finish(self, out: torch.Tensor) -> torch.Tensor:
        """After the addition: nothing for pre-activation units (a ReLU for post-activation ones)."""
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, shortcut = self.residual(x, self.se if self.placement == "pre" else None)
        if self.placement == "standard":
            out = self.se(out)
        elif self.placement == "identity":
            shortcut = self.se(shortcut)
        out = self.finish(out + shortcut)
        if self.placement == "post":
            out = self.se(out)
        return out


def bn_relu_conv(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)]


class PreActBlock(SEResidual):
    """Pre-activation unit (He et al. 2016b, "Identity mappings"): BN-ReLU-conv x2 (basic: ResNet-110, WRN)
    or x3 (bottleneck 1x1-3x3-1x1: ResNet-164). As the authors' code (KaimingHe/resnet-1k-layers): a unit
    that changes the shape applies BN-ReLU once and feeds it to both the branch and a 1x1 projection
    shortcut; the other units add their raw input. The bottleneck's stride is on its first 1x1 conv."""

    def __init__(
        self, cin: int, cout: int, stride: int, mid: int | None, se: SEConfig | None, dropout: float = 0.0
    ):
        super().__init__()
        self.preact = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        if mid is None:  # basic (WRN): 3x3 (stride), BN-ReLU-dropout-3x3
            first = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            bn, relu, conv = bn_relu_conv(cout, cout, 3)
            rest = [bn, relu, *([nn.Dropout(dropout)] if dropout else []), conv]  # WRN: dropout before conv
        else:  # bottleneck (ResNet-164): 1x1 (stride), 3x3, 1x1
            first = nn.Conv2d(cin, mid, 1, stride, bias=False)
            rest = [*bn_relu_conv(mid, mid, 3), *bn_relu_conv(mid, cout, 1)]
        self.branch = nn.Sequential(first, *rest)
        self.shortcut = nn.Conv2d(cin, cout, 1, stride, bias=False) if (stride != 1 or cin != cout) else None
        self.set_se(se, cin, cout)

    def residual(self, x, pre_se=None):
        pre = self.preact(x)
        branch_in = pre if pre_se is None else pre_se(pre)  # the branch proper starts after BN-ReLU
        return self.branch(branch_in), (x if self.shortcut is None else self.shortcut(pre))


@dataclass(frozen=True)
class PreActSpec:
    """A pre-activation CIFAR ResNet: blocks per stage, output widths, bottleneck widths (None = basic)."""

    depth: int  # blocks per stage
    widths: tuple[int, int, int]
    mid: tuple[int, int, int] | None = None
    stem_width: int = 16
    dropout: float = 0.0
    stage_ids = (2, 3, 4)  # conv2..conv4 of the WRN paper


class PreActResNet(Classifier):
    """conv 3x3 -> stages 2..4 of pre-activation units -> BN -> ReLU -> global pool -> fc."""

    def build(self, spec: PreActSpec, se, in_chans, drop_rate=None) -> int:
        block_drop = spec.dropout if drop_rate is None else drop_rate  # WRN: dropout inside the units
        self.conv1 = nn.Conv2d(in_chans, spec.stem_width, 3, 1, 1, bias=False)
        cin = spec.stem_width
        for i, (stage, cout) in enumerate(zip(spec.stage_ids, spec.widths)):
            blocks = []
            for b in range(spec.depth):
                stride = 2 if (b == 0 and i > 0) else 1
                mid = spec.mid[i] if spec.mid else None
                unit_se = se if (se and se.in_stage(stage)) else None
                blocks.append(PreActBlock(cin, cout, stride, mid, unit_se, block_drop))
                cin = cout
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.final = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        return cin

    def init_head(self, num_features, num_classes, drop_rate=0.0, **kw):
        super().init_head(num_features, num_classes, 0.0, **kw)  # drop_rate is the units' dropout here

    def stages(self):
        return list(zip(self.spec.stage_ids, (self.layer1, self.layer2, self.layer3)))


SPECS = {
    # He et al. 2016b, the SE paper's [14] for Tables 4 and 5: 110 = 6 x 18 + 2 layers, basic units (1.7M).
    "resnet110_cifar": PreActSpec(18, (16, 32, 64)),
    # He et al. 2016b: 164 = 9 x 18 + 2 layers, bottleneck widths 16/32/64 -> 64/128/256 (1.7M).
    "resnet164_cifar": PreActSpec(18, (64, 128, 256), (16, 32, 64)),
    # Zagoruyko & Komodakis 2016: WRN-16-8, (16 - 4) / 6 = 2 blocks per group, widths 16k, 32k, 64k (11.0M).
    "wrn16_8": PreActSpec(2, (128, 256, 512)),
}
# The CIFAR families' shared metadata: 32 x 32 CIFAR images; the nets also run on 8 x 8.
CIFAR_FAMILY_INFO = {**CIFAR_INFO, "min_input_size": 8}
# Revision 2: ResNet-110 became the pre-activation network, ResNet-164's stride moved to the first 1x1.
register_family(
    Family("cifar", PreActResNet, CIFAR_PLACEMENTS, info=CIFAR_FAMILY_INFO),
    SPECS,
    row_info={
        "resnet110_cifar": {"revision": 2},
        "resnet164_cifar": {"revision": 2},
        "wrn16_8": {"recipe": "cifar-wrn"},
    },
)
