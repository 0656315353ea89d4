"""The paper's transforms (PAPER.md section 8) on torchvision v2, the same pipeline for PIL images and
tensors: :class:`Views` (how images are shown to the model), the training augmentation and the evaluation
crops (single, ten-crop, or the multi-view plan of :mod:`senet.data.views`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision.transforms import v2

from .views import MultiView


@dataclass(frozen=True)
class Views:
    """How images are shown to the model: training augmentation and the evaluation crop."""

    augment: str = "none"  # a recipe's augment: imagenet | mobile | cifar | digits | none
    train_size: int = 32
    eval_resize: int | None = None  # None: no resize (the data's native size)
    eval_crop: int | None = None
    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    cutout: int = 0
    ten_crop: bool = False
    multiview: object = None  # a senet.data.views.ViewPlan: every view of each image (ILSVRC protocol)
    interpolation: str = "bilinear"  # of the evaluation resize (timm's SE weights expect bicubic)
    auto_augment: str = "none"  # randaugment | trivialaugment | autoaugment: after the crop and flip
    random_erasing: float = 0.0  # RandomErasing's probability, on the normalised image


def train_transform(v: Views, mean, std) -> v2.Compose:
    """Sec. 8: ImageNet random-resized crop (area and aspect jitter) + flip; CIFAR pad-4 crop + flip."""
    size = v.train_size
    aug = {
        "imagenet": [
            v2.RandomResizedCrop(size, scale=v.crop_scale, ratio=v.crop_ratio, antialias=True),
            v2.RandomHorizontalFlip(),
        ],
        "mobile": [
            v2.RandomResizedCrop(size, scale=v.crop_scale, ratio=v.crop_ratio, antialias=True),
            v2.RandomHorizontalFlip(),
        ],
        "cifar": [v2.RandomCrop(size, padding=4), v2.RandomHorizontalFlip()],
        "digits": [v2.RandomCrop(size, padding=2)],  # shifts only: a mirrored digit is another symbol
        "none": [],
    }[v.augment]
    policy = {
        "none": [],
        "randaugment": [v2.RandAugment()],
        "trivialaugment": [v2.TrivialAugmentWide()],
        "autoaugment": [v2.AutoAugment(v2.AutoAugmentPolicy.IMAGENET)],
    }[v.auto_augment]
    tail = [Cutout(v.cutout)] if v.cutout else []
    tail += [v2.RandomErasing(v.random_erasing, value=0)] if v.random_erasing else []
    return v2.Compose(
        [v2.ToImage(), *aug, *policy, v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std), *tail]
    )


class Cutout(torch.nn.Module):
    """Cutout (DeVries & Taylor 2017): zero a ``size`` x ``size`` square of the normalised image whose
    centre is anywhere in the image, clipped at the border (so near an edge less is cut), as their code."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[-2:]
        y, x = int(torch.randint(h, ())), int(torch.randint(w, ()))
        y1, y2 = max(y - self.size // 2, 0), min(y + self.size // 2, h)
        x1, x2 = max(x - self.size // 2, 0), min(x + self.size // 2, w)
        img = img.clone()
        img[..., y1:y2, x1:x2] = 0
        return img


def eval_transform(v: Views, mean, std) -> v2.Compose:
    """Sec. 8 evaluation: resize the shorter side to 256, centre crop 224 (or 320, or ten crops)."""
    if v.multiview is not None:
        return MultiView(v.multiview, mean, std, v.interpolation)
    mode = v2.InterpolationMode(v.interpolation)
    resize = [v2.Resize(v.eval_resize, interpolation=mode, antialias=True)] if v.eval_resize else []
    norm = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    if v.ten_crop:
        crop = v.eval_crop or v.train_size
        return v2.Compose([v2.ToImage(), *resize, *norm, v2.TenCrop(crop), _Stack()])
    crop = [v2.CenterCrop(v.eval_crop)] if v.eval_crop else []
    return v2.Compose([v2.ToImage(), *resize, *crop, *norm])


class _Stack(torch.nn.Module):
    def forward(self, crops):
        return torch.stack(list(crops))
