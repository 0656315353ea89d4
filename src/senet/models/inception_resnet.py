"""Inception-ResNet-v2 (Szegedy et al. 2017), plain and SE, at 299 x 299 (Table 2; PAPER.md section 2).

The layout is the released one (TF-slim ``inception_resnet_v2``, also timm's and Cadene's): stem to
``mixed_5b`` (320 channels at 35x35), 10 Inception-ResNet-A, ``mixed_6a`` (1088 at 17x17), 20 -B,
``mixed_7a`` (2080 at 8x8), 10 -C (the last without ReLU), a 1x1 conv to 1536. The paper does not fix SE's
place; we follow SE-ResNet (Fig. 3): one SE block (r=16) on the residual branch of each of the 40
Inception-ResNet blocks, after the 1x1 up-projection and before the residual scaling and the addition.
docs/models.md compares the counts with Table 2's 11.75 / 11.76 GFLOPs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..layers.se import SEConfig
from .base import Classifier
from .inception import ConvBN
from .registry import Family, register_family

EPS = 1e-3  # TF-slim's batch-norm epsilon


def cbr(cin: int, cout: int, k, stride: int = 1, padding=None) -> ConvBN:
    return ConvBN(cin, cout, k, stride, padding, eps=EPS)


@dataclass(frozen=True)
class InceptionResNetSpec:
    """Blocks per grid (35x35 A, 17x17 B, 8x8 C) and their residual scales (TF-slim values)."""

    depths: tuple[int, int, int] = (10, 20, 10)
    scales: tuple[float, float, float] = (0.17, 0.10, 0.20)
    dropout: float = 0.0


SPECS = {"inception_resnet_v2": InceptionResNetSpec()}


class Branches(nn.Module):
    """Parallel branches concatenated along channels (the Inception pattern)."""

    def __init__(self, *branches: nn.Module):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], 1)


class ResidualInception(nn.Module):
    """``relu(x + scale * se(up(branches(x))))``: Inception-ResNet-A/B/C (Figs. 16, 17, 19)."""

    def __init__(
        self,
        branches: Branches,
        width: int,
        channels: int,
        scale: float,
        se: SEConfig | None,
        relu: bool = True,
    ):
        super().__init__()
        self.branches = branches
        self.up = nn.Conv2d(width, channels, 1, bias=True)
        self.se = se.block(channels) if se is not None else None
        self.scale = scale
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.up(self.branches(x))
        out = out if self.se is None else self.se(out)
        return self.relu(x + self.scale * out)


def block_a(scale, se):
    return ResidualInception(
        Branches(
            cbr(320, 32, 1),
            nn.Sequential(cbr(320, 32, 1), cbr(32, 32, 3)),
            nn.Sequential(cbr(320, 32, 1), cbr(32, 48, 3), cbr(48, 64, 3)),
        ),
        128,
        320,
        scale,
        se,
    )


def block_b(scale, se):
    return ResidualInception(
        Branches(
            cbr(1088, 192, 1), nn.Sequential(cbr(1088, 128, 1), cbr(128, 160, (1, 7)), cbr(160, 192, (7, 1)))
        ),
        384,
        1088,
        scale,
        se,
    )


def block_c(scale, se, relu=True):
    return ResidualInception(
        Branches(
            cbr(2080, 192, 1), nn.Sequential(cbr(2080, 192, 1), cbr(192, 224, (1, 3)), cbr(224, 256, (3, 1)))
        ),
        448,
        2080,
        scale,
        se,
        relu,
    )


def stem() -> nn.Sequential:
    """299 -> 35x35x320: the TF-slim stem and ``mixed_5b`` (Inception-v3 style)."""
    mixed_5b = Branches(
        cbr(192, 96, 1),
        nn.Sequential(cbr(192, 48, 1), cbr(48, 64, 5)),
        nn.Sequential(cbr(192, 64, 1), cbr(64, 96, 3), cbr(96, 96, 3)),
        nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), cbr(192, 64, 1)),
    )
    return nn.Sequential(
        cbr(3, 32, 3, 2, 0),
        cbr(32, 32, 3, 1, 0),
        cbr(32, 64, 3),
        nn.MaxPool2d(3, 2),
        cbr(64, 80, 1),
        cbr(80, 192, 3, 1, 0),
        nn.MaxPool2d(3, 2),
        mixed_5b,
    )


def reduction_a() -> Branches:  # mixed_6a: 35 -> 17, 320 -> 1088
    return Branches(
        cbr(320, 384, 3, 2, 0),
        nn.Sequential(cbr(320, 256, 1), cbr(256, 256, 3), cbr(256, 384, 3, 2, 0)),
        nn.MaxPool2d(3, 2),
    )


def reduction_b() -> Branches:  # mixed_7a: 17 -> 8, 1088 -> 2080
    return Branches(
        nn.Sequential(cbr(1088, 256, 1), cbr(256, 384, 3, 2, 0)),
        nn.Sequential(cbr(1088, 256, 1), cbr(256, 288, 3, 2, 0)),
        nn.Sequential(cbr(1088, 256, 1), cbr(256, 288, 3), cbr(288, 320, 3, 2, 0)),
        nn.MaxPool2d(3, 2),
    )


class InceptionResNetV2(Classifier):
    """stem -> 10 x A -> reduction A -> 20 x B -> reduction B -> 10 x C -> 1x1 conv 1536 -> pool -> fc."""

    def build(self, spec: InceptionResNetSpec, se, in_chans, **_) -> int:
        (na, nb, nc), (sa, sb, sc) = spec.depths, spec.scales
        self.stem = stem()
        if in_chans != 3:
            self.stem[0] = cbr(in_chans, 32, 3, 2, 0)
        self.blocks_a = nn.Sequential(*[block_a(sa, se) for _ in range(na)])
        self.reduction_a = reduction_a()
        self.blocks_b = nn.Sequential(*[block_b(sb, se) for _ in range(nb)])
        self.reduction_b = reduction_b()
        self.blocks_c = nn.Sequential(*[block_c(sc, se) for _ in range(nc - 1)], block_c(1.0, se, relu=False))
        self.conv_head = cbr(2080, 1536, 1)
        return 1536

    def stages(self):
        return [("A", self.blocks_a), ("B", self.blocks_b), ("C", self.blocks_c)]

    def se_name(self, stage, index: int) -> str:
        """``SE_A1`` .. ``SE_A10``, ``SE_B1`` .., ``SE_C1`` ..: the SE of each Inception-ResNet block."""
        return f"SE_{stage}{index}"


# 299 input, evaluated on a 299 crop of 352 (PAPER.md section 8); 75 is the smallest input that runs.
INFO = dict(
    input_size=(3, 299, 299),
    crop_pct=299 / 352,
    interpolation="bicubic",
    mean=(0.5, 0.5, 0.5),
    std=(0.5, 0.5, 0.5),
    min_input_size=75,
    recipe="imagenet",
)
register_family(Family("inception_resnet", InceptionResNetV2, info=INFO), SPECS)
