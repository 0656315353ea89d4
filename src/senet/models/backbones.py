"""SE networks as backbones for torchvision's detection and segmentation models (the paper's Table 7:
Faster R-CNN on COCO, +2.4 AP with SE-ResNet-50).

``backbone(name)`` returns a module with ``out_channels`` whose forward gives an ordered dict of maps, the
interface ``torchvision.models.detection.FasterRCNN``, ``MaskRCNN``, ``RetinaNet`` and ``FCOS`` take. With
``fpn=True`` the maps go through torchvision's ``FeaturePyramidNetwork`` (plus the extra max-pooled level),
as ``resnet_fpn_backbone`` builds it; BatchNorm is frozen (``FrozenBatchNorm2d``) and the early stages do not
train, as detection practice. ``keys=("aux", "out")`` with ``fpn=False`` gives what torchvision's
segmentation models (``DeepLabV3``, ``FCN``) read.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..errors import SenetError


class Backbone(nn.Module):
    """Feature maps of a senet model (``body``), optionally through an FPN; ``out_channels`` as torchvision's
    detection models read it."""

    def __init__(self, body: nn.Module, fpn: bool, out_channels: int, keys):
        super().__init__()
        from torchvision.ops import FeaturePyramidNetwork
        from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

        self.body, self.keys = body, tuple(keys)
        chans = body.feature_info.channels()
        if fpn:
            self.fpn = FeaturePyramidNetwork(chans, out_channels, extra_blocks=LastLevelMaxPool())
            self.out_channels = out_channels
        else:
            self.fpn = None
            self.out_channels = chans[-1]

    def forward(self, x: torch.Tensor) -> OrderedDict:
        maps = OrderedDict(zip(self.keys, self.body(x)))
        return self.fpn(maps) if self.fpn is not None else maps


def backbone(
    name: str,
    pretrained=None,
    fpn: bool = True,
    trainable_stages: int = 3,
    frozen_bn: bool = True,
    returned_stages=None,
    out_channels: int = 256,
    keys=None,
    checkpoint=None,
    **options,
) -> Backbone:
    """A detection (or segmentation) backbone from a registered model.

    ``returned_stages``: indices into the model's feature maps (``create_model(name).feature_info``; default
    the last four, strides 4 to 32 for the ImageNet networks, as torchvision's ``returned_layers=[1, 2, 3,
    4]``). ``trainable_stages``: how many of the deepest feature stages train (0: none; torchvision's
    ``trainable_layers``, default 3); the rest are frozen. ``pretrained``/``checkpoint``: weights to load
    (``senet list --pretrained``). ``keys``: names of the returned maps (default ``"0"``, ``"1"``, ...).
    """
    from .factory import create_model
    from .features import FeatureNet, _indices, feature_points

    if not isinstance(out_channels, int) or isinstance(out_channels, bool) or out_channels < 1:
        raise SenetError(f"out_channels must be a positive integer, got {out_channels!r}")
    model = create_model(name, pretrained=pretrained, checkpoint=checkpoint, **options)
    path, info, ends = feature_points(model)
    chosen = _indices(min(4, len(info)) if returned_stages is None else returned_stages, len(info))
    n = chosen[-1] + 1  # the stages that run: up to the deepest returned map
    if (
        not isinstance(trainable_stages, int)
        or isinstance(trainable_stages, bool)
        or not 0 <= trainable_stages <= n
    ):
        raise SenetError(
            f"trainable_stages must be an integer from 0 to {n} for {name} with these maps, got {trainable_stages!r}"
        )
    first = (
        ends[n - trainable_stages - 1] + 1 if trainable_stages < n else 0
    )  # the first path item that trains
    trainable = {p for p, _ in path[first : ends[n - 1] + 1]} if trainable_stages else set()
    for p, module in path:
        if p not in trainable:
            module.requires_grad_(False)
    body = FeatureNet(model, chosen)
    if frozen_bn:
        freeze_batch_norm(body)
    keys = tuple(keys) if keys is not None else tuple(str(i) for i in range(len(chosen)))
    if len(keys) != len(chosen) or len(set(keys)) != len(keys) or not all(isinstance(k, str) for k in keys):
        raise SenetError(f"keys {list(keys)} must be {len(chosen)} distinct strings, one per returned map")
    return Backbone(body, fpn, out_channels, keys)


def freeze_batch_norm(module: nn.Module) -> nn.Module:
    """Replace every ``BatchNorm2d`` by torchvision's ``FrozenBatchNorm2d`` with the same statistics and
    affine parameters (detection practice: small per-GPU batches would make BN statistics noise)."""
    from torchvision.ops import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            frozen = FrozenBatchNorm2d(child.num_features, eps=child.eps)
            with torch.no_grad():
                frozen.weight.copy_(child.weight if child.affine else torch.ones_like(frozen.weight))
                frozen.bias.copy_(child.bias if child.affine else torch.zeros_like(frozen.bias))
                frozen.running_mean.copy_(child.running_mean)
                frozen.running_var.copy_(child.running_var)
            setattr(module, name, frozen)
        else:
            freeze_batch_norm(child)
    return module
