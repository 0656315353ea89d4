"""ResNet, ResNeXt, SENet-154 and the CIFAR 6n+2 ResNets, plain and SE, from one table and one builder.

``layout="official"`` reproduces the released Caffe SE models (PAPER.md section 3): stride on the first
1x1 conv for (SE-)ResNet, on the 3x3 for (SE-)ResNeXt and SENet-154, stem max pool 3/2 in ceil mode
without padding. ``layout="torchvision"``: stride on the 3x3 and a padded stem pool (torchvision, timm).
Module names equal timm's ``resnet.py`` keys (``conv1``, ``layer1.0.se.fc1``, ``fc``), so timm and
torchvision weights load as they are and Cadene's need only a renaming (see ``senet.hub.weights``).

Beyond the paper, the same table holds timm's SE-ResNet-D family (``TIMM_SPECS``: ``seresnet152d``,
``seresnextaa101d_32x8d``, ...), the "bag of tricks" ResNets (He et al. 2019): a deep stem of three 3x3
convs (``deep_d``: widths w/2, w/2, w; ``deep_t``, timm's "tiered": 3/8 w, w/2, w), average-pool
downsampling on the projection shortcut (``avg_down``), and anti-aliased downsampling (``aa``, Zhang 2019
with timm's ``aa_layer=nn.AvgPool2d``: a 2x2/2 average pool after the stride-1 3x3 conv, and in place of
the stem's max pool). Their SE block is timm's: C/r rounded to a multiple of 8 (``se_divisor``), which for
r=16 and these widths (multiples of 128) is the paper's C/r; other ``reduction`` values round where the
paper's would refuse a C/r that is not a whole number.

timm's ``ts`` networks of ``byobnet.py`` (``seresnext26ts``, ``seresnet33ts``) are rows of the same table:
the tiered stem with SiLU (``act``), with or without its max pool (``stem_pool``), ResNeXt groups of a fixed
size (``group_size``), a 1x1 conv-BN-SiLU to ``num_features`` before the pool (``final_conv``), and the SE
block on the bottleneck's mid channels (``se_placement="3x3"``: byobnet's ``attn`` before conv3). Their keys
are senet's; a file of timm's byobnet layout (``stem.conv1.conv``, ``stages.0.0.conv1_1x1``, ``attn``,
``head.fc``) is renamed when it is loaded (``senet.hub.weights``), as Cadene's are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.se import PLACEMENTS, SEConfig, check_choice
from .base import Classifier
from .registry import CIFAR_INFO, Family, register_family

LAYOUTS = ("official", "torchvision")
ACTS = {"relu": nn.ReLU, "silu": nn.SiLU}  # the network's non-linearity (the SE block's own stays ReLU)


@dataclass(frozen=True)
class ResNetSpec:
    """One row of the architecture table."""

    block: str  # "basic" | "bottleneck"
    depths: tuple[int, ...]
    widths: tuple[int, ...]  # block output channels per stage
    mid: tuple[int, ...] | None = None  # 3x3 conv widths (bottleneck); None = widths // 4
    first: tuple[int, ...] | None = None  # first 1x1 widths; None = mid (SENet-154: half of mid)
    groups: int = 1
    stem: str = "7x7"  # "7x7" | "deep" (three 3x3, SENet-154) | "cifar" (one 3x3, no pool)
    stem_width: int = 64
    stride_on: str = "1x1"  # official layout: which bottleneck conv carries the stride
    down_kernel: int = 1  # projection kernel of stages after the first (SENet-154: 3)
    shortcut: str = "conv"  # "conv" (projection) | "pad" (CIFAR option A: subsample + zero channels)
    dropout: float = 0.0
    # timm's ResNet-D family (He et al. 2019, "Bag of Tricks"); stem "deep_d" | "deep_t" (stem_width: the
    # stem's output width, twice timm's ``stem_width`` argument; keys ``conv1.0`` .. ``conv1.6``, ``bn1``).
    avg_down: bool = False  # projection shortcut: AvgPool2d(2, 2, ceil_mode, count_include_pad=False), 1x1
    aa: bool = False  # anti-aliasing (timm's aa_layer=nn.AvgPool2d): stride-1 3x3 then a 2x2/2 avg pool
    se_divisor: int = 0  # 0: the paper's C/r (r divides C); 8: timm's make_divisible(C/r, 8)
    # timm's byobnet "ts" rows. act: every non-linearity of the network but the SE block's hidden one
    # (timm's SEModule keeps ReLU there); stem_pool False: no stem pool, the stem's last conv strides
    # instead (timm's Stem, stride 4, pool ''); group_size: channels per group of the 3x3 (timm's gs; the
    # groups then grow with the width), 0: ``groups``; num_features: a final 1x1 conv-BN-act to this width
    # before the global pool (``final_conv``), 0: none; se_placement: where the SE twin puts its block unless
    # told (``placement=``), "3x3" = on the mid channels before conv3 (byobnet's attn).
    act: str = "relu"
    stem_pool: bool = True
    group_size: int = 0
    num_features: int = 0
    se_placement: str = "standard"
    # timm's legacy SEResNetBlock (senet.py, legacy_seresnet18/34): the basic unit's branch ends in a ReLU after
    # bn2, before SE and the addition (the model option ``branch_relu=True`` sets it: the legacy tags).
    branch_relu: bool = False

    @property
    def stage_ids(self) -> tuple[int, ...]:
        """The paper's stage numbers: conv2_x .. conv5_x (2..4 for the CIFAR nets)."""
        return tuple(range(2, len(self.depths) + 2))

    @property
    def se_defaults(self) -> dict[str, object]:
        """SE options that differ from ``SEConfig``'s defaults for this row (``create_model`` applies them
        unless the caller gives another value)."""
        return {} if self.se_placement == "standard" else {"placement": self.se_placement}


def conv_bn(
    cin: int, cout: int, k: int, stride: int = 1, groups: int = 1
) -> tuple[nn.Conv2d, nn.BatchNorm2d]:
    return nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)


class PadShortcut(nn.Module):
    """He et al.'s CIFAR option A: stride-2 subsampling and zero channels, no parameters."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.extra, self.stride = cout - cin, stride

    def forward(self, x):
        return F.pad(x[:, :, :: self.stride, :: self.stride], (0, 0, 0, 0, 0, self.extra))


class ResidualBlock(nn.Module):
    """A residual unit with an SE slot; ``placement`` picks where (Fig. 5, Table 14; SE_3x3 Table 15).

    standard: ``relu(se(branch(x)) + shortcut(x))`` (Fig. 3); pre: SE on the branch input; post: after the
    addition and ReLU; identity: on the shortcut, parallel to the branch; 3x3: inside, after the 3x3 conv.
    Faster forms of the same function are applied explicitly (``senet.optimize_for_inference``).
    """

    def __init__(self):
        super().__init__()
        self.drop_path = None  # stochastic depth on the branch (set_drop_path), off by default

    def _set_act(self, act: str) -> None:
        """The unit's non-linearity, registered under its own name (``relu``, torchvision's; ``silu``)."""
        self.act_name = act
        self.add_module(act, ACTS[act](inplace=True))

    def act(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, self.act_name)(x)

    def _se_slot(self, se: SEConfig | None, channels: dict[str, int], divisor: int = 0) -> None:
        self.placement = se.placement if se else None
        self.se = se.block(channels[se.placement], divisor=divisor) if se else None

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        if self.placement == "pre":
            x = self.se(x)
        out = self.branch(x)
        if self.placement == "standard":
            out = self.se(out)
        elif self.placement == "identity":
            shortcut = self.se(shortcut)
        if self.drop_path is not None:  # stochastic depth: the whole branch of a sample, in training
            out = self.drop_path(out)
        out = self.act(out + shortcut)
        if self.placement == "post":
            out = self.se(out)
        return out


def set_drop_path(model: nn.Module, rate: float) -> None:
    """Stochastic depth (Huang et al. 2016; torchvision's ``StochasticDepth``, "row" mode) on the residual
    branch of every unit, the rate rising linearly from 0 at the first unit to ``rate`` at the last."""
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate < 1:
        from ..errors import SenetError

        raise SenetError(f"drop_path_rate must be in [0, 1), got {rate!r}")
    if not rate:
        return
    from torchvision.ops import StochasticDepth  # only when asked: importing torchvision.ops costs time

    units = [m for m in model.modules() if isinstance(m, ResidualBlock)]
    for i, unit in enumerate(units):
        unit.drop_path = StochasticDepth(rate * i / max(len(units) - 1, 1), "row")


def make_downsample(cin, cout, stride, kernel, kind, avg_down=False):
    if stride == 1 and cin == cout:
        return None
    if kind == "pad":
        return PadShortcut(cin, cout, stride)
    if avg_down:  # timm's downsample_avg: keys downsample.1 (conv), downsample.2 (bn)
        pool = (
            nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
        )
        return nn.Sequential(pool, *conv_bn(cin, cout, 1))
    return nn.Sequential(*conv_bn(cin, cout, kernel, stride))


class BasicBlock(ResidualBlock):
    def __init__(self, cin, cout, stride, se, downsample, act="relu", branch_relu=False, **_):
        super().__init__()
        self.conv1, self.bn1 = conv_bn(cin, cout, 3, stride)
        self.conv2, self.bn2 = conv_bn(cout, cout, 3)
        self._set_act(act)
        self.branch_relu = branch_relu  # timm's legacy SEResNetBlock: act(bn2(...)) ends the branch
        self._se_slot(se, {"standard": cout, "pre": cin, "post": cout, "identity": cout, "3x3": cout})
        self.downsample = downsample

    def branch(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        if self.placement == "3x3":
            x = self.se(x)
        x = self.bn2(self.conv2(x))
        return self.act(x) if self.branch_relu else x


class Bottleneck(ResidualBlock):
    def __init__(
        self,
        cin,
        cout,
        stride,
        se,
        downsample,
        mid,
        first,
        groups,
        stride_on,
        aa=False,
        se_divisor=0,
        act="relu",
        **_,
    ):
        super().__init__()
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        aa = aa and s3 > 1  # anti-aliased: the 3x3 at stride 1, then a 2x2/2 average pool (timm)
        self.conv1, self.bn1 = conv_bn(cin, first, 1, s1)
        self.conv2, self.bn2 = conv_bn(first, mid, 3, 1 if aa else s3, groups)
        self.aa = nn.AvgPool2d(2, s3) if aa else None
        self.conv3, self.bn3 = conv_bn(mid, cout, 1)
        self._set_act(act)
        self._se_slot(
            se, {"standard": cout, "pre": cin, "post": cout, "identity": cout, "3x3": mid}, se_divisor
        )
        self.downsample = downsample

    def branch(self, x):
        x = self.act(self.bn1(self.conv1(x)))
        x = self.act(self.bn2(self.conv2(x)))
        if self.aa is not None:
            x = self.aa(x)
        if self.placement == "3x3":
            x = self.se(x)
        return self.bn3(self.conv3(x))


BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}


class ResNet(Classifier):
    """stem -> layer1..layerN (paper stages 2..N+1) -> global pool -> (dropout) -> fc."""

    def build(
        self, spec: ResNetSpec, se, in_chans, layout="official", drop_path_rate=0.0, branch_relu=None, **_
    ) -> int:
        check_choice("layout", layout, LAYOUTS)
        check_choice("act", spec.act, tuple(ACTS))
        if layout == "torchvision":
            self.spec = spec = replace(spec, stride_on="3x3")
        if branch_relu is not None:  # only the basic-unit rows take it (their family's option)
            if not isinstance(branch_relu, bool):
                from ..errors import SenetError

                raise SenetError(f"branch_relu must be True or False, got {branch_relu!r}")
            self.spec = spec = replace(spec, branch_relu=branch_relu)
            self.branch_relu = branch_relu  # the weights' card records it (senet.hub.weights)
        # The CIFAR nets (basic units, no stem pool) are the same in both layouts: they have none.
        self.layout = None if spec.stem == "cifar" else layout
        self._build_stem(spec, layout, in_chans)
        mid = spec.mid or tuple(w // 4 for w in spec.widths)
        first = spec.first or mid
        cin = spec.stem_width
        for i, (stage, depth, cout) in enumerate(zip(spec.stage_ids, spec.depths, spec.widths)):
            blocks = []
            for b in range(depth):
                stride = 2 if (b == 0 and i > 0) else 1
                kernel = spec.down_kernel if i > 0 else 1
                down = (
                    make_downsample(cin, cout, stride, kernel, spec.shortcut, spec.avg_down)
                    if b == 0
                    else None
                )
                unit_se = se if (se and se.in_stage(stage)) else None
                block = BLOCKS[spec.block](
                    cin,
                    cout,
                    stride,
                    unit_se,
                    down,
                    mid=mid[i],
                    first=first[i],
                    groups=mid[i] // spec.group_size if spec.group_size else spec.groups,
                    stride_on=spec.stride_on,
                    aa=spec.aa,
                    se_divisor=spec.se_divisor,
                    act=spec.act,
                    branch_relu=spec.branch_relu,
                )
                blocks.append(block)
                cin = cout
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
        if spec.num_features:  # timm's byobnet final_conv: 1x1 conv-BN-act before the pool
            self.final_conv = nn.Sequential(*conv_bn(cin, spec.num_features, 1), ACTS[spec.act](inplace=True))
            cin = spec.num_features
        set_drop_path(self, drop_path_rate)
        return cin

    def _build_stem(self, spec: ResNetSpec, layout: str, in_chans: int) -> None:
        if spec.stem == "deep":  # SENet-154: 3x3/2 64, 3x3 64, 3x3 128 (PAPER.md section 3)
            self.conv1, self.bn1 = conv_bn(in_chans, 64, 3, 2)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv2, self.bn2 = conv_bn(64, 64, 3)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv3, self.bn3 = conv_bn(64, spec.stem_width, 3)
            self.relu3 = nn.ReLU(inplace=True)
        elif spec.stem in ("deep_d", "deep_t"):  # timm's "deep" / "deep_tiered" (keys conv1.0 .. conv1.6)
            w, act = spec.stem_width, ACTS[spec.act]
            c0, c1 = (w // 2, w // 2) if spec.stem == "deep_d" else (3 * (w // 2 // 4), w // 2)
            self.conv1 = nn.Sequential(
                *conv_bn(in_chans, c0, 3, 2),
                act(inplace=True),
                *conv_bn(c0, c1, 3),
                act(inplace=True),
                # without a stem pool the last conv strides (timm's byobnet Stem: strides 2, 1, 2)
                nn.Conv2d(c1, w, 3, 1 if spec.stem_pool else 2, 1, bias=False),
            )
            self.bn1 = nn.BatchNorm2d(w)
            self.add_module(spec.act, act(inplace=True))  # relu (torchvision's name) or silu
        elif spec.stem == "7x7":
            self.conv1, self.bn1 = nn.Conv2d(in_chans, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64)
            self.add_module(spec.act, ACTS[spec.act](inplace=True))
        else:  # CIFAR: one 3x3 conv, no pooling
            self.conv1, self.bn1 = conv_bn(in_chans, spec.stem_width, 3)
            self.relu = nn.ReLU(inplace=True)
            return
        if not spec.stem_pool:
            return
        if spec.aa:  # timm's aa_layer=nn.AvgPool2d replaces the stem pool (the name kept, as timm's)
            self.maxpool = nn.AvgPool2d(2)
        else:
            self.maxpool = (
                nn.MaxPool2d(3, 2, 0, ceil_mode=True) if layout == "official" else nn.MaxPool2d(3, 2, 1)
            )

    def stages(self):
        return [(stage, getattr(self, f"layer{i + 1}")) for i, stage in enumerate(self.spec.stage_ids)]


# ---- the table ---------------------------------------------------------------------------------------
_IMAGENET = (256, 512, 1024, 2048)
_BASIC = (64, 128, 256, 512)
_X32 = (128, 256, 512, 1024)  # 32 groups x 4d, doubled per stage
SPECS: dict[str, ResNetSpec] = {
    "resnet18": ResNetSpec("basic", (2, 2, 2, 2), _BASIC),
    "resnet34": ResNetSpec("basic", (3, 4, 6, 3), _BASIC),
    "resnet50": ResNetSpec("bottleneck", (3, 4, 6, 3), _IMAGENET),
    "resnet101": ResNetSpec("bottleneck", (3, 4, 23, 3), _IMAGENET),
    "resnet152": ResNetSpec("bottleneck", (3, 8, 36, 3), _IMAGENET),
    "resnext50_32x4d": ResNetSpec("bottleneck", (3, 4, 6, 3), _IMAGENET, _X32, groups=32, stride_on="3x3"),
    # SE-ResNeXt-26 32x4d: timm's legacy_seresnext26_32x4d (trained by timm in Cadene's SENet code), 2-2-2-2
    "resnext26_32x4d": ResNetSpec("bottleneck", (2, 2, 2, 2), _IMAGENET, _X32, groups=32, stride_on="3x3"),
    "resnext101_32x4d": ResNetSpec("bottleneck", (3, 4, 23, 3), _IMAGENET, _X32, groups=32, stride_on="3x3"),
    # SENet-154 without SE: ResNeXt-152 64x4d with SENet-154's stem, half-width 1x1s and 3x3 projections.
    "resnext154_64x4d": ResNetSpec(
        "bottleneck",
        (3, 8, 36, 3),
        _IMAGENET,
        (256, 512, 1024, 2048),
        _X32,
        groups=64,
        stem="deep",
        stem_width=128,
        stride_on="3x3",
        down_kernel=3,
        dropout=0.2,
    ),
}
SPECS.update(
    {
        f"resnet{d}_cifar": ResNetSpec(
            "basic", ((d - 2) // 6,) * 3, (16, 32, 64), stem="cifar", stem_width=16, shortcut="pad"
        )
        for d in (20, 32, 44, 56)  # He et al. 2016a; ResNet-110 of Tables 4-5 is pre-activation (cifar.py)
    }
)
# Table 9's ResNeXt-101 32x48d (Mahajan et al. 2018, trained with Instagram hashtags): torchvision's layout
# (stride on the 3x3, padded stem pool) as their released torch.hub models; kept apart so that it
# defaults to that layout.
WSL_SPECS = {
    "resnext101_32x48d": ResNetSpec(
        "bottleneck",
        (3, 4, 23, 3),
        _IMAGENET,
        tuple(32 * 48 * 2**i for i in range(4)),
        groups=32,
        stride_on="3x3",
    ),
}
SE_NAMES = {
    name: ("senet154" if name == "resnext154_64x4d" else f"se_{name}") for name in [*SPECS, *WSL_SPECS]
}
# Beyond the paper: timm's SE-ResNet-D family, each row as timm's resnet.py builds it (names, keys and
# parameters timm's; torchvision layout). The SE twin is timm's name, ``se`` + the plain name. timm has the
# plain twins resnet50t, resnetaa50d, resnet152d, resnet200d, resnext101_32x8d and resnext101_64x4d; the
# other plain names (resnet269d, resnext26d_32x4d, resnext26t_32x4d, resnext101d_32x8d,
# resnextaa101d_32x8d, resnextaa201d_32x8d) are the ones timm would give: its SE model without SE.
_X8 = (256, 512, 1024, 2048)  # 32 groups x 8d (and 64 x 4d)
_TIMM = dict(stride_on="3x3", se_divisor=8)
_D = dict(_TIMM, stem="deep_d", avg_down=True)  # ResNet-D: deep stem (32, 32, 64) + avg-pool shortcut
_T = dict(_TIMM, stem="deep_t", avg_down=True)  # ResNet-T: tiered deep stem (24, 32, 64) + avg-pool
_AA = dict(_D, aa=True)  # ResNet-D + anti-aliased (avg-pool) downsampling
_TS = dict(_TIMM, stem="deep_t", act="silu", se_placement="3x3")  # timm's byobnet "ts" (tiered stem, SiLU)
_B = ("bottleneck",)
TIMM_SPECS = {
    "resnet50t": ResNetSpec(*_B, (3, 4, 6, 3), _IMAGENET, **_T),
    "resnetaa50d": ResNetSpec(*_B, (3, 4, 6, 3), _IMAGENET, **_AA),
    "resnet152d": ResNetSpec(*_B, (3, 8, 36, 3), _IMAGENET, **_D),
    "resnet200d": ResNetSpec(*_B, (3, 24, 36, 3), _IMAGENET, **_D),
    "resnet269d": ResNetSpec(*_B, (3, 30, 48, 8), _IMAGENET, **_D),
    "resnext26d_32x4d": ResNetSpec(*_B, (2, 2, 2, 2), _IMAGENET, _X32, groups=32, **_D),
    "resnext26t_32x4d": ResNetSpec(*_B, (2, 2, 2, 2), _IMAGENET, _X32, groups=32, **_T),
    "resnext101_32x8d": ResNetSpec(*_B, (3, 4, 23, 3), _IMAGENET, _X8, groups=32, **_TIMM),
    "resnext101_64x4d": ResNetSpec(*_B, (3, 4, 23, 3), _IMAGENET, _X8, groups=64, **_TIMM),
    "resnext101d_32x8d": ResNetSpec(*_B, (3, 4, 23, 3), _IMAGENET, _X8, groups=32, **_D),
    "resnextaa101d_32x8d": ResNetSpec(*_B, (3, 4, 23, 3), _IMAGENET, _X8, groups=32, **_AA),
    # timm's stem_width=64: the deep stem is (64, 64, 128)
    "resnextaa201d_32x8d": ResNetSpec(*_B, (3, 24, 36, 4), _IMAGENET, _X8, groups=32, stem_width=128, **_AA),
    # timm's byobnet ts rows (no avg-pool shortcut: a strided 1x1 conv-BN): the tiered stem (24, 32, 64) with
    # SiLU, SiLU in every unit, and the SE block on the mid channels (placement "3x3", C/r rounded to 8:
    # 8 hidden units for 64 and 128 channels, i.e. r = 8 and 16, not the paper's 16 on the output width).
    # ResNeXt-26 "ts": groups of 32 channels (2, 4, 8, 16 groups), the stem's max pool.
    "resnext26ts": ResNetSpec(*_B, (2, 2, 2, 2), _IMAGENET, group_size=32, **_TS),
    # ResNet-33 "ts": 2-3-3-2 units up to 1536 channels, no stem pool (the stem's third conv strides), and a
    # final 1x1 conv-BN-SiLU to 1280 features before the pool.
    "resnet33ts": ResNetSpec(
        *_B, (2, 3, 3, 2), (256, 512, 1536, 1536), stem_pool=False, num_features=1280, **_TS
    ),
}
TIMM_SE_NAMES = {name: f"se{name}" for name in TIMM_SPECS}

RESNET = Family(
    "resnet",
    ResNet,
    PLACEMENTS,
    {"layout": "official", "drop_rate": None, "in_chans": 3, "drop_path_rate": 0.0},
)
register_family(
    replace(RESNET, info={"recipe": "imagenet"}),
    {n: s for n, s in SPECS.items() if s.stem != "cifar" and s.block != "basic"},
    SE_NAMES,
    row_info={"resnext154_64x4d": {"recipe": "senet154"}},
)
register_family(  # ResNet-18/34: branch_relu=True is timm's legacy SE-ResNet-18/34 unit (its legacy weights)
    replace(RESNET, info={"recipe": "imagenet"}, options={**RESNET.options, "branch_relu": False}),
    {n: s for n, s in SPECS.items() if s.stem != "cifar" and s.block == "basic"},
    SE_NAMES,
)
register_family(
    replace(RESNET, info={"recipe": "imagenet"}, options={**RESNET.options, "layout": "torchvision"}),
    WSL_SPECS,
    SE_NAMES,
)
register_family(  # timm's rows: its layout (stride on the 3x3, padded stem pool) by default
    replace(RESNET, info={"recipe": "imagenet"}, options={**RESNET.options, "layout": "torchvision"}),
    TIMM_SPECS,
    TIMM_SE_NAMES,
)
register_family(  # no layout: without a stem pool and with basic units both layouts are one network
    replace(
        RESNET,
        name="resnet_cifar",
        info=CIFAR_INFO,
        options={"drop_rate": None, "in_chans": 3, "drop_path_rate": 0.0},
    ),
    {n: s for n, s in SPECS.items() if s.stem == "cifar"},
    SE_NAMES,
)
