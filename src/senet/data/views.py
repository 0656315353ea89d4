"""The views of the ILSVRC 2017 multi-view protocol (Sec. 7, Table 8): :class:`ViewPlan` says which views
(scales, crops, flips), :class:`MultiView` is the dataset transform that makes them (the same resize, crop
and normalisation as the single-crop evaluation, so one view equals a single-crop run of it). The
evaluation over them is :mod:`senet.evaluation.multiview`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from ..errors import SenetError

CROPS = {
    1: ("center",),
    3: ("start", "center", "end"),  # along the long side (GoogLeNet's three squares)
    5: ("top_left", "top_right", "bottom_left", "bottom_right", "center"),
    10: ("top_left", "top_right", "bottom_left", "bottom_right", "center"),  # and their mirrors
}


@dataclass(frozen=True)
class ViewPlan:
    """The views of one image: ``scales`` (short side of each), ``crop`` (side of a square crop; None
    with ``fully_convolutional``), ``crops`` (1, 3, 5 or 10 per scale), ``flip`` (mirror every crop)."""

    scales: tuple[int, ...]
    crop: int | None
    crops: int = 1
    flip: bool = False
    fully_convolutional: bool = False

    def __post_init__(self):
        if not self.scales or not all(_positive(s) for s in self.scales):
            raise SenetError(f"scales must be positive integers, got {self.scales!r}")
        if len(set(self.scales)) != len(self.scales):
            raise SenetError(f"scales {list(self.scales)} repeat a scale; give each once")
        if self.crops not in CROPS:
            raise SenetError(f"crops must be one of 1, 3, 5, 10, got {self.crops!r}")
        if self.crops == 10 and self.flip:
            raise SenetError("--crops 10 already holds the mirrors of five crops; use --crops 5 --flip")
        if self.fully_convolutional:
            if self.crops != 1:
                raise SenetError("--fully-convolutional shows the whole image: it takes no --crops")
            return
        if not _positive(self.crop):
            raise SenetError(f"crop must be a positive integer, got {self.crop!r}")
        if self.crop > min(self.scales):
            raise SenetError(
                f"crop {self.crop} is larger than scale {min(self.scales)}: every --scales value must be "
                f">= the crop (or pass --fully-convolutional)"
            )

    def views(self) -> list[dict]:
        """One entry per view, in the order of :func:`view_probabilities`' second axis."""
        names = ("full",) if self.fully_convolutional else CROPS[self.crops]
        mirrors = (False, True) if self.flip or self.crops == 10 else (False,)
        return [{"scale": s, "crop": c, "mirrored": m} for s in self.scales for m in mirrors for c in names]

    def __len__(self) -> int:
        return len(self.views())


def _positive(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v > 0


class MultiView(nn.Module):
    """The dataset transform: an image -> a list with one tensor of views per scale (``F, 3, h, w``),
    each made as the single-crop evaluation makes its view (resize the short side, crop, normalise)."""

    def __init__(self, plan: ViewPlan, mean, std, interpolation: str = "bilinear"):
        super().__init__()
        self.plan, self.mode = plan, v2.InterpolationMode(interpolation)
        self.norm = v2.Compose([v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

    def forward(self, img) -> list[torch.Tensor]:
        img = TF.to_image(img)
        out = []
        for scale in self.plan.scales:
            resized = TF.resize(img, scale, interpolation=self.mode, antialias=True)
            crops = [resized] if self.plan.fully_convolutional else self._crops(resized)
            if self.plan.flip or self.plan.crops == 10:
                crops = crops + [TF.horizontal_flip(c) for c in crops]
            out.append(torch.stack([self.norm(c) for c in crops]))
        return out

    def _crops(self, img: torch.Tensor) -> list[torch.Tensor]:
        c, n = self.plan.crop, self.plan.crops
        if n == 1:
            return [TF.center_crop(img, [c, c])]
        if n in (5, 10):
            return list(TF.five_crop(img, [c, c]))
        h, w = img.shape[-2:]  # three squares along the long side, centred across the short one
        if w >= h:
            top = int(round((h - c) / 2.0))
            return [TF.crop(img, top, 0, c, c), TF.center_crop(img, [c, c]), TF.crop(img, top, w - c, c, c)]
        left = int(round((w - c) / 2.0))
        return [TF.crop(img, 0, left, c, c), TF.center_crop(img, [c, c]), TF.crop(img, h - c, left, c, c)]


def collate(batch):
    """Items of :class:`MultiView` kept as lists (their sizes differ with ``fully_convolutional``)."""
    good = [b for b in batch if b is not None]
    targets = torch.tensor([t for _, t in good], dtype=torch.long)
    return [v for v, _ in good], targets, len(batch) - len(good)
