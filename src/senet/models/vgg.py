"""VGG-16 with batch normalisation, plain and SE (Table 2; PAPER.md section 2).

SE-VGG-16 (Sec. 6.1): BN after each conv, an SE block after the non-linearity of each of the 13 convs.
The head is VGG's: adaptive 7x7 average pool, fc6/fc7 (4096, ReLU, dropout 0.5), then the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers import SqueezeExcitation
from ..registry import ModelInfo, register_model
from ._base import Classifier
from ._se import SEConfig, init_weights


@dataclass(frozen=True)
class VGGSpec:
    """Output widths of the convs of each stage (conv1_x .. conv5_x); a 2x2 max pool ends each stage."""

    stages: tuple[tuple[int, ...], ...]
    hidden: int = 4096  # width of fc6 and fc7
    dropout: float = 0.5


SPECS = {"vgg16_bn": VGGSpec(((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)))}


class ConvBNReLU(nn.Sequential):
    """conv 3x3 -> BN -> ReLU -> (SE): one "conv" of SE-VGG-16."""

    def __init__(self, cin: int, cout: int, se: SEConfig | None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        if se is not None:
            self.se = se.block(cout)


class VGG(Classifier):
    """stages conv1..conv5 (each ending in max pool) -> 7x7 pool -> fc6 -> fc7 -> fc."""

    def __init__(
        self, spec: VGGSpec, num_classes=1000, se: SEConfig | None = None, drop_rate=None, in_chans: int = 3
    ):
        super().__init__(spec.hidden, num_classes, 0.0, in_chans)
        stage_ids = range(1, len(spec.stages) + 1)
        if se is not None:
            se = se.validate(("standard",), stage_ids)
        self.spec, self.se_config = spec, se
        cin = in_chans
        for stage, widths in zip(stage_ids, spec.stages):
            layers = []
            for cout in widths:
                layers.append(ConvBNReLU(cin, cout, se if (se and se.in_stage(stage)) else None))
                cin = cout
            layers.append(nn.MaxPool2d(2, 2))
            self.add_module(f"stage{stage}", nn.Sequential(*layers))
        self.num_stages = len(spec.stages)
        drop = spec.dropout if drop_rate is None else drop_rate
        self.global_pool = nn.AdaptiveAvgPool2d(7)
        self.pre_logits = nn.Sequential(
            nn.Linear(cin * 49, spec.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(drop),
            nn.Linear(spec.hidden, spec.hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(drop),
        )
        init_weights(self)

    def stages(self) -> list[nn.Sequential]:
        return [getattr(self, f"stage{i}") for i in range(1, self.num_stages + 1)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages():
            x = stage(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pre_logits(torch.flatten(self.global_pool(x), 1))
        return x if pre_logits else self.fc(x)

    def se_blocks(self) -> dict[str, nn.Module]:
        """``SE_<stage>_<conv>``: the SE after conv<stage>_<conv> (SE_1_1 .. SE_5_3)."""
        return {
            f"SE_{s + 1}_{c + 1}": layer.se
            for s, stage in enumerate(self.stages())
            for c, layer in enumerate(stage)
            if isinstance(getattr(layer, "se", None), SqueezeExcitation)
        }


def _plain(spec):
    def build(num_classes=1000, drop_rate=None, in_chans=3):
        return VGG(spec, num_classes, None, drop_rate, in_chans)

    return build


def _se(spec):
    d = SEConfig()

    def build(
        num_classes=1000,
        reduction=d.reduction,
        squeeze=d.squeeze,
        excitation=d.excitation,
        bias=d.bias,
        stages=d.stages,
        drop_rate=None,
        in_chans=3,
    ):
        return VGG(
            spec,
            num_classes,
            SEConfig(reduction, squeeze, excitation, bias, "standard", stages),
            drop_rate,
            in_chans,
        )

    return build


def _register():
    for name, spec in SPECS.items():
        meta = dict(family="vgg", min_input_size=32)
        register_model(name, _plain(spec), ModelInfo(name, twin=f"se_{name}", **meta))
        register_model(f"se_{name}", _se(spec), ModelInfo(f"se_{name}", se=True, twin=name, **meta))


_register()
