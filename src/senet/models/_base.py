"""What every senet classifier shares: the head, timm's conventions and the input check."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import SenetError


class Classifier(nn.Module):
    """Base of every model: ``forward_features`` (subclass) -> ``forward_head`` (global pool, dropout, fc).

    Follows timm's conventions: ``forward_features``, ``forward_head(x, pre_logits=False)``,
    ``reset_classifier(num_classes)``, ``num_features`` and ``get_classifier()``.
    """

    def __init__(self, num_features: int, num_classes: int, drop_rate: float = 0.0, in_chans: int = 3):
        super().__init__()
        self.in_chans, self.num_features, self.num_classes = in_chans, num_features, num_classes
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate) if drop_rate else nn.Identity()
        self.fc = nn.Linear(num_features, num_classes) if num_classes else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.drop(torch.flatten(self.global_pool(x), 1))
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.forward_head(self.forward_features(x))

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.in_chans:
            raise SenetError(
                f"{type(self).__name__} expects input of shape (N, {self.in_chans}, H, W), got {tuple(x.shape)}"
            )

    def get_classifier(self) -> nn.Module:
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a fresh one for ``num_classes`` (0 = no classifier, features only)."""
        self.num_classes = num_classes
        device = next(self.parameters()).device
        self.fc = nn.Linear(self.num_features, num_classes, device=device) if num_classes else nn.Identity()
