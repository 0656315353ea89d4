"""Layers: the SE block (Eq. 1-4) and its configuration. The bottom of the network code: no model, no
registry, no file format is imported here (timm's ``layers``)."""

from .se import (
    EXCITATIONS,
    PLACEMENTS,
    SQUEEZES,
    SEConfig,
    SqueezeExcitation,
    check_choice,
    se_hidden,
)

__all__ = [
    "EXCITATIONS",
    "PLACEMENTS",
    "SQUEEZES",
    "SEConfig",
    "SqueezeExcitation",
    "check_choice",
    "se_hidden",
]
