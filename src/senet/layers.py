"""The Squeeze-and-Excitation block (Hu et al., Sec. 3, Eq. 2-4) and every variant the paper studies."""

from __future__ import annotations

import torch
import torch.fx
from torch import nn

from .errors import SenetError
from .kernels import global_avg_pool, scale_add_relu

# Leaves for torch.fx tracing (senet.fast folds BN by tracing): their device dispatch is not traceable.
torch.fx.wrap("global_avg_pool")
torch.fx.wrap("scale_add_relu")

SQUEEZES = ("avg", "max", "none")
EXCITATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def check_choice(option: str, value, allowed) -> None:
    """Raise a :class:`SenetError` naming the allowed values when ``value`` is not one of them."""
    if value not in allowed:
        raise SenetError(f"{option}={value!r} is not allowed; choose one of {', '.join(map(repr, allowed))}")


def se_hidden(channels: int, reduction: int) -> int:
    """C/r, the bottleneck width of the excitation (Eq. 3); r must divide C."""
    if not isinstance(reduction, int) or isinstance(reduction, bool) or reduction < 1:
        raise SenetError(f"reduction must be a positive integer, got {reduction!r}")
    if channels % reduction:
        raise SenetError(
            f"reduction={reduction} does not fit {channels} channels (r must divide C; "
            f"divisors up to 64: {[r for r in range(1, min(channels, 64) + 1) if channels % r == 0]})"
        )
    return channels // reduction


class SqueezeExcitation(nn.Module):
    """Recalibrate channels: ``u * s`` with ``s = sigma(W2 delta(W1 z))`` and ``z = squeeze(u)``.

    - ``squeeze``: "avg" (Eq. 2, global average pooling), "max" (Table 11) or "none" (NoSqueeze, Table 16:
      no pooling, the FCs act per position as 1x1 convs and the gate is H x W x C).
    - ``excitation``: the gate sigma of Eq. 3, "sigmoid" (default), "tanh" or "relu" (Table 12).
    - ``reduction``: r, the ratio of Eq. 3 (Table 10); ``bias``: FC biases (official models: yes,
      the TPAMI ablations: no). Parameters: 2C^2/r, plus C/r + C with biases (Sec. 3.2).

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
    ):
        super().__init__()
        check_choice("squeeze", squeeze, SQUEEZES)
        check_choice("excitation", excitation, tuple(EXCITATIONS))
        hidden = se_hidden(channels, reduction)
        self.channels, self.reduction, self.squeeze = channels, reduction, squeeze
        self.fc1 = nn.Conv2d(channels, hidden, 1, bias=bias)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(hidden, channels, 1, bias=bias)
        self.gate_fn = EXCITATIONS[excitation]()  # a module so that hooks can record s (Sec. 7.2)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """The squeeze F_sq (Eq. 2): a 1x1 channel descriptor, or ``x`` itself for NoSqueeze."""
        if self.squeeze == "avg":
            return global_avg_pool(x)  # x.mean((2, 3)); one Triton pass on CUDA
        if self.squeeze == "max":
            return x.amax((2, 3), keepdim=True)
        return x

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The excitation s = F_ex(z, W) (Eq. 3), shaped to broadcast over ``x``."""
        return self.gate_fn(self.fc2(self.relu(self.fc1(self.pool(x)))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """F_scale (Eq. 4): each channel of ``x`` times its excitation."""
        return x * self.gate(x)

    def scale_add_relu(self, x: torch.Tensor, shortcut: torch.Tensor, inplace: bool = False) -> torch.Tensor:
        """``relu(x * s + shortcut)``: Eq. 4, the residual addition and the ReLU of Fig. 3 as one fused step.

        Computes what ``relu(se(x) + shortcut)`` does (to float32 round-off: one rounding instead of two),
        with one pass over memory instead of three (``senet.kernels``). ``inplace`` reuses x's memory.
        """
        return scale_add_relu(x, self.gate(x), shortcut, inplace)

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, squeeze={self.squeeze!r}"
