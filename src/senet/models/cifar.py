"""CIFAR networks of Tables 4 and 5, plain and SE: pre-activation ResNet-164 and WRN-16-8.

Shake-Shake lives in ``shake.py``; the 6n+2 ResNets (ResNet-110) in ``resnet.py``. All CIFAR nets share the
SE slot of :class:`SEResidual` (PAPER.md section 2): "standard" = on the residual branch before the addition,
"pre" / "post" / "identity" as in Table 14. Stages are numbered 2..4 (conv2..conv4 of the WRN paper).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers import SqueezeExcitation
from ..registry import ModelInfo, register_model
from ._base import Classifier
from ._se import SEConfig, init_weights

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
CIFAR_PLACEMENTS = ("standard", "pre", "post", "identity")


class SEResidual(nn.Module):
    """A residual unit with an SE slot; subclasses return ``(branch(x), shortcut(x))`` from ``residual``.

    No ReLU after the addition: every CIFAR net here is pre-activation (He et al. 2016b) or Shake-Shake.
    """

    se: nn.Module | None  # set by set_se (a class default would shadow the registered module)
    placement: str = "standard"

    def residual(self, x: torch.Tensor, pre_se=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(branch output, shortcut); ``pre_se`` (SE-PRE) scales the branch's input only, not the shortcut."""
        raise NotImplementedError

    def set_se(self, se: SEConfig | None, cin: int, cout: int) -> None:
        self.placement = se.placement if se else "standard"
        self.se = se.block(cin if self.placement == "pre" else cout) if se else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        se, where = self.se, self.placement
        out, shortcut = self.residual(x, se if where == "pre" else None)
        if se is not None and where == "standard":
            out = se(out)
        elif se is not None and where == "identity":
            shortcut = se(shortcut)
        out = out + shortcut
        if se is not None and where == "post":
            out = se(out)
        return out


def bn_relu_conv(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
    return [nn.BatchNorm2d(cin), nn.ReLU(inplace=True), nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)]


class PreActBlock(SEResidual):
    """Pre-activation unit (He et al. 2016b, "Identity mappings"): BN-ReLU-conv x2 (basic, WRN) or x3
    (bottleneck 1x1-3x3-1x1); a 1x1 projection of the pre-activated input when the shape changes."""

    def __init__(
        self, cin: int, cout: int, stride: int, mid: int | None, se: SEConfig | None, dropout: float = 0.0
    ):
        super().__init__()
        self.preact = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        if mid is None:  # basic (WRN): 3x3 (stride), BN-ReLU-dropout-3x3
            first = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            bn, relu, conv = bn_relu_conv(cout, cout, 3)
            rest = [bn, relu, *([nn.Dropout(dropout)] if dropout else []), conv]  # WRN: dropout before conv
        else:  # bottleneck (ResNet-164): 1x1, 3x3 (stride), 1x1
            first = nn.Conv2d(cin, mid, 1, bias=False)
            rest = [*bn_relu_conv(mid, mid, 3, stride), *bn_relu_conv(mid, cout, 1)]
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


class PreActResNet(Classifier):
    """conv 3x3 -> stages 2..4 of pre-activation units -> BN -> ReLU -> global pool -> fc."""

    def __init__(
        self, spec: PreActSpec, num_classes=10, se: SEConfig | None = None, drop_rate=None, in_chans: int = 3
    ):
        super().__init__(spec.widths[-1], num_classes, 0.0, in_chans)
        stage_ids = (2, 3, 4)
        if se is not None:
            se = se.validate(CIFAR_PLACEMENTS, stage_ids)
        self.spec, self.se_config = spec, se
        block_drop = spec.dropout if drop_rate is None else drop_rate
        self.conv1 = nn.Conv2d(in_chans, spec.stem_width, 3, 1, 1, bias=False)
        cin = spec.stem_width
        for i, (stage, cout) in enumerate(zip(stage_ids, spec.widths)):
            blocks = []
            for b in range(spec.depth):
                stride = 2 if (b == 0 and i > 0) else 1
                mid = spec.mid[i] if spec.mid else None
                blocks.append(
                    PreActBlock(
                        cin, cout, stride, mid, se if (se and se.in_stage(stage)) else None, block_drop
                    )
                )
                cin = cout
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        self.final = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(inplace=True))
        init_weights(self)

    def stages(self) -> list[nn.Sequential]:
        return [self.layer1, self.layer2, self.layer3]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        for stage in self.stages():
            x = stage(x)
        return self.final(x)

    def se_blocks(self) -> dict[str, nn.Module]:
        return staged_se_blocks(self.stages())


def staged_se_blocks(stages) -> dict[str, nn.Module]:
    """``SE_<stage>_<block>`` with stages numbered from 2, as for the ResNets."""
    return {
        f"SE_{i + 2}_{b + 1}": blk.se
        for i, stage in enumerate(stages)
        for b, blk in enumerate(stage)
        if isinstance(blk.se, SqueezeExcitation)
    }


SPECS = {
    # He et al. 2016b: 164 = 9 x 18 + 2 layers, bottleneck widths 16/32/64 -> 64/128/256 (1.7M).
    "resnet164_cifar": PreActSpec(18, (64, 128, 256), (16, 32, 64)),
    # Zagoruyko & Komodakis 2016: WRN-16-8, (16 - 4) / 6 = 2 blocks per group, widths 16k, 32k, 64k (11.0M).
    "wrn16_8": PreActSpec(2, (128, 256, 512)),
}


def cifar_builders(cls, spec, default_classes: int):
    """The plain and SE builders of a CIFAR family (keyword arguments explicit for the registry)."""
    d = SEConfig()

    def plain(num_classes=default_classes, drop_rate=None, in_chans=3):
        return cls(spec, num_classes, None, drop_rate, in_chans)

    def se(
        num_classes=default_classes,
        reduction=d.reduction,
        squeeze=d.squeeze,
        excitation=d.excitation,
        bias=d.bias,
        placement=d.placement,
        stages=d.stages,
        drop_rate=None,
        in_chans=3,
    ):
        cfg = SEConfig(reduction, squeeze, excitation, bias, placement, stages)
        return cls(spec, num_classes, cfg, drop_rate, in_chans)

    return plain, se


def register_cifar(name: str, cls, spec, family: str, num_classes: int = 10) -> None:
    plain, se = cifar_builders(cls, spec, num_classes)
    meta = dict(
        family=family,
        input_size=(3, 32, 32),
        mean=CIFAR_MEAN,
        std=CIFAR_STD,
        crop_pct=1.0,
        num_classes=num_classes,
        min_input_size=8,
    )
    register_model(name, plain, ModelInfo(name, twin=f"se_{name}", **meta))
    register_model(f"se_{name}", se, ModelInfo(f"se_{name}", se=True, twin=name, **meta))


for _name, _spec in SPECS.items():
    register_cifar(_name, PreActResNet, _spec, "cifar")
