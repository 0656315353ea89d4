"""What every senet classifier shares: stem -> stages -> head, timm's conventions, the SE block list.

A model registers its modules in the order they run: the stem's, then the stages, then the head (added
last by :meth:`Classifier.init_head`). ``forward_features`` is therefore just the modules before the head,
one after the other, so ``list(model.children())``, torchvision's ``IntermediateLayerGetter`` and
``create_feature_extractor`` and ``torch.fx.symbolic_trace`` all see the network as it is. The input check
is a forward pre-hook, outside the traced ``forward``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import SenetError
from ..layers.se import SEConfig, SqueezeExcitation
from .features import HEAD


@dataclass(frozen=True)
class SEBlock:
    """One SE block of a model: its stage (the paper's label), its 1-based index there, and the module."""

    stage: int | str | None
    index: int
    module: SqueezeExcitation
    name: str  # the paper's name: SE_<stage>_<index> (Sec. 7.2: SE_2_3 ... SE_5_3)


def _check_input(model: Classifier, args) -> None:
    x = args[0] if args else None
    if isinstance(x, torch.Tensor) and (x.dim() != 4 or x.shape[1] != model.in_chans):
        raise SenetError(
            f"{type(model).__name__} expects input of shape (N, {model.in_chans}, H, W), got {tuple(x.shape)}"
        )


class Classifier(nn.Module):
    """Base of every model: ``forward_features`` (the modules before the head) -> ``forward_head``.

    Follows timm's conventions: ``forward_features``, ``forward_head(x, pre_logits=False)``,
    ``reset_classifier(num_classes)``, ``num_features`` and ``get_classifier()``. A family implements
    :meth:`build` (stem and stages from one row of its table) and lists its stages in :meth:`stages`; the
    head (``drop_rate``: the row's ``dropout`` unless given) and He initialisation follow here.
    """

    def __init__(
        self, spec, num_classes: int = 1000, se: SEConfig | None = None, drop_rate=None, in_chans=3, **options
    ):
        super().__init__()
        self.spec, self.se_config, self.in_chans = spec, se, in_chans
        self.register_forward_pre_hook(_check_input)
        width = self.build(spec, se, in_chans, drop_rate=drop_rate, **options)
        self.init_head(width, num_classes, getattr(spec, "dropout", 0.0) if drop_rate is None else drop_rate)
        init_weights(self)

    def build(self, spec, se: SEConfig | None, in_chans: int, **options) -> int:
        """Register the stem's modules, then the stages' (in the order they run); return the width of the
        last feature map. ``se``: the checked SE options (None for the plain twin)."""
        raise NotImplementedError

    def init_head(
        self,
        num_features: int,
        num_classes: int,
        drop_rate: float = 0.0,
        pool: nn.Module | None = None,
        pre_logits: nn.Module | None = None,
    ) -> None:
        """global pool -> pre-logits (VGG's fc6/fc7) -> dropout -> fc, registered after everything else.

        ``num_features`` is the width the classifier sees (after the pre-logits layers)."""
        self.num_features, self.num_classes = num_features, num_classes
        self.global_pool = pool if pool is not None else nn.AdaptiveAvgPool2d(1)
        self.pre_logits = pre_logits if pre_logits is not None else nn.Identity()
        self.drop = nn.Dropout(drop_rate) if drop_rate else nn.Identity()
        self.fc = nn.Linear(num_features, num_classes)

    def features(self) -> Iterable[nn.Module]:
        """The modules of the stem and the stages, in the order they run."""
        for name, module in self.named_children():
            if name in HEAD:
                return
            yield module

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if self.grad_checkpointing and self.training and torch.is_grad_enabled():
            from .features import _run

            for module in self.features():
                x = _run(module, x, True)
            return x
        for module in self.features():
            x = module(x)
        return x

    grad_checkpointing = False

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Activation checkpointing of the feature modules (a stage unit by unit): the same gradients and
        BatchNorm statistics, the activations inside each unit recomputed in the backward pass instead of
        held (the recomputation does not update BatchNorm's running statistics again)."""
        self.grad_checkpointing = bool(enable)

    @property
    def feature_info(self):
        """Channels, stride and module of each feature map (``senet.models.features``)."""
        from .features import feature_points

        return feature_points(self)[1]

    def forward_intermediates(self, x: torch.Tensor, indices=None, intermediates_only: bool = False):
        """timm's API: ``(final features, [maps at indices])``; ``indices``: an int takes the last n maps, a
        list names them (``feature_info`` lists them all)."""
        from .features import forward_intermediates

        return forward_intermediates(self, x, indices, intermediates_only)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.drop(self.pre_logits(torch.flatten(self.global_pool(x), 1)))
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a fresh one for ``num_classes`` (0 = no classifier, features only)."""
        self.num_classes = num_classes
        device = next(self.parameters()).device
        self.fc = nn.Linear(self.num_features, num_classes, device=device) if num_classes else nn.Identity()

    # ---- SE blocks ----------------------------------------------------------------------------------------
    def stages(self) -> list[tuple[int | str | None, Iterable[nn.Module]]]:
        """``(stage label, units)`` for each stage whose units may hold an SE block (attribute ``se``)."""
        return []

    def se_name(self, stage, index: int) -> str:
        return f"SE_{index}" if stage is None else f"SE_{stage}_{index}"

    def se_blocks(self) -> list[SEBlock]:
        """The live SE blocks, stage by stage (a block pruned to ``nn.Identity`` drops out)."""
        return [
            SEBlock(stage, i, unit.se, self.se_name(stage, i))
            for stage, units in self.stages()
            for i, unit in enumerate(units, 1)
            if isinstance(getattr(unit, "se", None), SqueezeExcitation)
        ]


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
