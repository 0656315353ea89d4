"""VGG-16 with batch normalisation, plain and SE (Table 2; PAPER.md section 2).

SE-VGG-16 (Sec. 6.1): BN after each conv, an SE block after the non-linearity of each of the 13 convs.
The head is VGG's: adaptive 7x7 average pool, fc6/fc7 (4096, ReLU, dropout 0.5), then the classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .registry import Family, register_family


@dataclass(frozen=True)
class VGGSpec:
    """Output widths of the convs of each stage (conv1_x .. conv5_x); a 2x2 max pool ends each stage."""

    stages: tuple[tuple[int, ...], ...]
    hidden: int = 4096  # width of fc6 and fc7
    dropout: float = 0.5

    @property
    def stage_ids(self) -> tuple[int, ...]:
        return tuple(range(1, len(self.stages) + 1))


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

    def build(self, spec: VGGSpec, se, in_chans, **_) -> int:
        cin = in_chans
        for stage, widths in zip(spec.stage_ids, spec.stages):
            layers = []
            for cout in widths:
                layers.append(ConvBNReLU(cin, cout, se if (se and se.in_stage(stage)) else None))
                cin = cout
            layers.append(nn.MaxPool2d(2, 2))
            self.add_module(f"stage{stage}", nn.Sequential(*layers))
        return cin

    def init_head(self, num_features, num_classes, drop_rate=0.0, **_):
        """VGG's head: adaptive 7x7 pool, fc6 and fc7 (ReLU, dropout), then the classifier."""
        hidden = self.spec.hidden
        fc6_fc7 = nn.Sequential(
            nn.Linear(num_features * 49, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(drop_rate),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(drop_rate),
        )
        super().init_head(hidden, num_classes, pool=nn.AdaptiveAvgPool2d(7), pre_logits=fc6_fc7)

    def stages(self):
        return [(s, getattr(self, f"stage{s}")) for s in self.spec.stage_ids]


register_family(Family("vgg", VGG, info={"recipe": "imagenet"}), SPECS)
