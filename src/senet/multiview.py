"""Multi-scale, multi-crop evaluation: the ILSVRC 2017 protocol behind the paper's 2.251% (Sec. 7, Table 8).

Each image is shown to the network at several scales (the short side resized to each), and at each scale
as one or more crops: the centre (1); three squares along the long side, as GoogLeNet's test crops (3);
the four corners and the centre (5); those five and their mirrors (10); ``flip`` mirrors every crop.
``fully_convolutional`` feeds the whole resized image instead of crops (the ResNet paper's multi-scale
testing). The softmax probabilities of all views are averaged.

A :class:`ViewPlan` says which views; :class:`MultiView` is the dataset transform that makes them (the same
resize, crop and normalisation as the single-crop evaluation, so one view equals a single-crop run of it);
:func:`view_probabilities` runs the network over them, one image's views in one batch; :func:`view_errors`
turns the probabilities into each scale's single-view and multi-view error and the fused error.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from .errors import SenetError

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


def view_probabilities(
    model: nn.Module,
    loader,
    device: torch.device,
    batch_size: int = 256,
    autocast=contextlib.nullcontext,
    progress: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, int, float]:
    """Softmax probabilities of every view of every image, ``(N, V, K)``, their targets, the number of
    unreadable images skipped and the seconds taken. Same-size views go through the network together,
    up to ``batch_size`` views per forward; an image's views at one scale are never split across images'
    shapes (the whole-image path runs each image's views alone)."""
    from tqdm.auto import tqdm

    model.eval()
    probs, targets, skipped = [], [], 0
    start = time.perf_counter()
    bar = tqdm(total=len(loader.dataset), unit="img", desc="eval", disable=not progress, leave=False)
    with torch.no_grad(), bar:
        for views, y, bad in loader:
            skipped += bad
            if not views:
                bar.update(bad)
                continue
            # per scale: the images' views stacked (equal shapes) or one image at a time (whole images)
            per_scale = []
            for s in range(len(views[0])):
                shapes = {tuple(v[s].shape) for v in views}
                same = len(shapes) == 1
                groups = [torch.stack([v[s] for v in views])] if same else [v[s][None] for v in views]
                out = [_forward(model, g.flatten(0, 1), device, batch_size, autocast) for g in groups]
                per_scale.append(torch.cat(out).view(len(views), views[0][s].shape[0], -1))
            probs.append(torch.cat(per_scale, 1).cpu())
            targets.append(y)
            bar.update(len(views) + bad)
    seconds = time.perf_counter() - start
    if not probs:
        raise SenetError("the evaluation set yielded no readable images")
    return torch.cat(probs), torch.cat(targets), skipped, seconds


def _forward(model, x: torch.Tensor, device, batch_size: int, autocast) -> torch.Tensor:
    out = []
    for chunk in x.split(batch_size):
        with autocast():
            out.append(F.softmax(model(chunk.to(device, non_blocking=True)).float(), dim=1))
    return torch.cat(out)


def view_errors(probs: torch.Tensor, targets: torch.Tensor, plan: ViewPlan) -> dict:
    """Top-1/top-5 error (%) of each scale's single view (the unmirrored centre crop, or the whole image),
    of each scale's views fused, and of all views fused; loss and per-class accuracy of the fused result."""
    views = plan.views()
    per_scale = []
    for s in plan.scales:
        idx = [i for i, v in enumerate(views) if v["scale"] == s]
        single = next(i for i in idx if _is_single(views[i]))
        per_scale.append(
            {
                "scale": s,
                "views": len(idx),
                "single_view": _errors(probs[:, single], targets),
                "multi_view": _errors(probs[:, idx].mean(1), targets),
            }
        )
    fused = probs.mean(1)
    k = fused.shape[1]
    hits = fused.argmax(1) == targets
    per_class = [
        100 * hits[targets == c].double().mean().item() if (targets == c).any() else 0.0 for c in range(k)
    ]
    return {
        **_errors(fused, targets),
        "loss": F.nll_loss(fused.clamp_min(1e-12).log(), targets).item(),
        "per_scale": per_scale,
        "per_class_accuracy": per_class,
    }


def _is_single(view: dict) -> bool:
    """The view a single-crop evaluation at that scale shows: the unmirrored centre (or whole image)."""
    return view["crop"] in ("center", "full") and not view["mirrored"]


def _errors(p: torch.Tensor, targets: torch.Tensor) -> dict:
    k = min(5, p.shape[1])
    hits = p.topk(k, dim=1).indices == targets[:, None]
    return {
        "top1_error": 100 * (1 - hits[:, 0].double().mean().item()),
        "top5_error": 100 * (1 - hits.any(1).double().mean().item()),
    }
