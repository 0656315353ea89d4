"""The Squeeze-and-Excitation block (Hu et al., Sec. 3, Eq. 2-4), its variants, and ``SEConfig``.

``SqueezeExcitation`` is the block; ``SEConfig`` is the set of options every SE model takes (the paper's
ablation knobs, Tables 10-16) with their checks. Nothing here knows about any network.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import torch
from torch import nn

from ..errors import SenetError

SQUEEZES = ("avg", "max", "none")
EXCITATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
# Where a residual network puts the block (Fig. 5, Table 14; "3x3": after the 3x3 conv, Table 15).
PLACEMENTS = ("standard", "pre", "post", "identity", "3x3")


def check_choice(option: str, value, allowed) -> None:
    """Raise a :class:`SenetError` naming the allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise SenetError(f"{option}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")


def _positive_int(option: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SenetError(f"{option} must be a positive integer, got {value!r}")


def se_hidden(channels: int, reduction: int) -> int:
    """C/r, the bottleneck width of the excitation (Eq. 3); r must divide C."""
    _positive_int("reduction", reduction)
    if channels % reduction:
        raise SenetError(
            f"reduction={reduction} does not fit {channels} channels (r must divide C; "
            f"divisors up to 64: {[r for r in range(1, min(channels, 64) + 1) if channels % r == 0]})"
        )
    return channels // reduction


def se_hidden_divisible(channels: int, reduction: int, divisor: int) -> int:
    """timm's C/r: ``make_divisible(C / r, divisor, round_limit=0)``, the nearest multiple of ``divisor``
    (at least ``divisor``), for any C and r; the paper's C/r (:func:`se_hidden`) needs r to divide C."""
    _positive_int("reduction", reduction)
    _positive_int("divisor", divisor)
    return max(divisor, int(channels / reduction + divisor / 2) // divisor * divisor)


class SqueezeExcitation(nn.Module):
    """Recalibrate channels: ``u * s`` with ``s = sigma(W2 delta(W1 z))`` and ``z = squeeze(u)``.

    - ``squeeze``: "avg" (Eq. 2, global average pooling), "max" (Table 11) or "none" (NoSqueeze, Table 16:
      no pooling, the FCs act per position as 1x1 convs and the gate is H x W x C).
    - ``excitation``: the gate sigma of Eq. 3, "sigmoid" (default), "tanh" or "relu" (Table 12).
    - ``reduction``: r, the ratio of Eq. 3 (Table 10); ``hidden``: the bottleneck width C/r given directly
      (torchvision's ``squeeze_channels``, timm's ``rd_channels``), for widths r does not divide.
    - ``bias``: FC biases (official models: yes, the TPAMI ablations: no).
    Parameters: 2 C hidden, plus hidden + C with biases (Sec. 3.2: 2C^2/r).

    The FCs are 1x1 convolutions named ``fc1``/``fc2``, the key names of the official, Cadene and timm
    weights, so every variant shares one state_dict layout.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 16,
        squeeze: str = "avg",
        excitation: str = "sigmoid",
        bias: bool = True,
        hidden: int | None = None,
    ):
        super().__init__()
        check_choice("squeeze", squeeze, SQUEEZES)
        check_choice("excitation", excitation, tuple(EXCITATIONS))
        if hidden is None:
            hidden = se_hidden(channels, reduction)
        _positive_int("hidden", hidden)
        self.channels, self.reduction, self.hidden, self.squeeze = channels, reduction, hidden, squeeze
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=bias)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=bias)
        self.gate_fn = EXCITATIONS[excitation]()  # a module so that hooks can record s (Sec. 7.2)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The squeeze F_sq (Eq. 2): a 1x1 channel descriptor, or ``x`` itself for NoSqueeze."""
        if self.squeeze == "avg":
            return x.mean((2, 3), keepdim=True)
        if self.squeeze == "max":
            return x.amax((2, 3), keepdim=True)
        return x

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The excitation s = F_ex(z, W) (Eq. 3), shaped to broadcast over ``x``."""
        return self.gate_fn(self.fc2(self.relu(self.fc1(self.pool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F_scale (Eq. 4): each channel of ``x`` times its excitation."""
        return x * self.gate(x)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, hidden={self.hidden}, squeeze={self.squeeze!r}"


@dataclass(frozen=True)
class SEConfig:
    """The options every SE model takes (PAPER.md sections 2 and 7; DESIGN.md conventions).

    ``reduction``, ``squeeze``, ``excitation``, ``bias``: the block's (Tables 10-12, 16); ``placement``:
    where a residual unit puts it (Table 14; "3x3" Table 15); ``stages``: the paper stage numbers that get
    SE blocks (Table 13; conv2_x = 2 ... conv5_x = 5 for ImageNet ResNets), None = every stage.
    Build one from loose keyword values with :meth:`from_options`; a model checks it against what it
    offers with :meth:`check`.
    """

    reduction: int = 16
    squeeze: str = "avg"
    excitation: str = "sigmoid"
    bias: bool = True
    placement: str = "standard"
    stages: tuple[int, ...] | None = None

    def __post_init__(self):
        _positive_int("reduction", self.reduction)
        check_choice("squeeze", self.squeeze, SQUEEZES)
        check_choice("excitation", self.excitation, tuple(EXCITATIONS))
        check_choice("placement", self.placement, PLACEMENTS)
        if not isinstance(self.bias, bool):
            raise SenetError(f"bias must be True or False, got {self.bias!r}")
        s = self.stages
        if s is not None and (not isinstance(s, tuple) or not s or list(s) != sorted(set(s))):
            raise SenetError(
                f"stages must be a sorted tuple of stage numbers such as (4,) or (2, 3), got {s!r}"
            )

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The option names, in order: the keyword arguments SE models take beside their own."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_options(cls, **options) -> SEConfig:
        """An ``SEConfig`` from keyword values as users write them (``stages=4``, ``stages=[3, 2]``)."""
        unknown = sorted(set(options) - set(cls.options()))
        if unknown:
            raise SenetError(f"unknown SE options {unknown}; allowed: {', '.join(cls.options())}")
        stages = options.get("stages")
        if stages is not None:
            items = (stages,) if isinstance(stages, int) else stages
            try:
                ok = all(isinstance(i, int) and not isinstance(i, bool) for i in items)
            except TypeError:  # not iterable
                ok = False
            if not ok:
                raise SenetError(f"stages must be stage numbers such as 4 or (2, 3), got {stages!r}")
            options["stages"] = tuple(sorted(set(items))) or ()
        return cls(**options)

    def check(self, placements: Iterable[str], stages: Iterable[int]) -> SEConfig:
        """Refuse a placement or stages that the model does not offer; returns ``self``."""
        check_choice("placement", self.placement, tuple(placements))
        stages = tuple(stages)
        if self.stages is not None:
            if not stages:
                raise SenetError("stages= does not apply: this model's SE blocks are not grouped in stages")
            bad = [s for s in self.stages if s not in stages]
            if bad:
                raise SenetError(f"stages={self.stages!r}: this model's stages are {stages}")
        return self

    def block(self, channels: int, hidden: int | None = None, divisor: int = 0) -> SqueezeExcitation:
        """An SE block for ``channels`` (hidden width C/r unless given; with ``divisor``, C/r rounded to
        a multiple of it as timm rounds, :func:`se_hidden_divisible`)."""
        if hidden is None and divisor:
            hidden = se_hidden_divisible(channels, self.reduction, divisor)
        return SqueezeExcitation(channels, self.reduction, self.squeeze, self.excitation, self.bias, hidden)

    def in_stage(self, stage) -> bool:
        return self.stages is None or stage in self.stages
