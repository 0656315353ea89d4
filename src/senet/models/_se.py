"""How a model places SE blocks: the paper's ablation knobs as one frozen config (Tables 10-16)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from torch import nn

from ..errors import SenetError
from ..layers import SqueezeExcitation, check_choice

PLACEMENTS = ("standard", "pre", "post", "identity", "3x3")


@dataclass(frozen=True)
class SEConfig:
    """The SE options every SE model takes (DESIGN.md conventions; PAPER.md sections 2 and 7).

    ``stages`` holds paper stage numbers (conv2_x = 2 ... conv5_x = 5 for ImageNet ResNets); None = all.
    """

    reduction: int = 16
    squeeze: str = "avg"
    excitation: str = "sigmoid"
    bias: bool = True
    placement: str = "standard"
    stages: tuple[int, ...] | None = None

    def validate(self, allowed_placements: Iterable[str], allowed_stages: Iterable[int]) -> SEConfig:
        check_choice("placement", self.placement, tuple(allowed_placements))
        allowed_stages = tuple(allowed_stages)
        if self.stages is not None:
            stages = (self.stages,) if isinstance(self.stages, int) else tuple(self.stages)
            bad = [s for s in stages if s not in allowed_stages]
            if bad or not stages:
                raise SenetError(f"stages={self.stages!r}: this model's stages are {allowed_stages}")
            object.__setattr__(self, "stages", tuple(sorted(set(stages))))
        # Probe the block options early so a bad value fails before any layer is built.
        SqueezeExcitation(self.reduction, self.reduction, self.squeeze, self.excitation, self.bias)
        return self

    def block(self, channels: int) -> SqueezeExcitation:
        return SqueezeExcitation(channels, self.reduction, self.squeeze, self.excitation, self.bias)

    def in_stage(self, stage: int) -> bool:
        return self.stages is None or stage in self.stages


def init_weights(model: nn.Module) -> None:
    """He initialisation (PAPER.md section 8) for convs, unit BN, small normal classifier."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.GroupNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
