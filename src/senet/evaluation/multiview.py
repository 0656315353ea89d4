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

import torch
import torch.nn.functional as F
from torch import nn

from ..data.samplers import batches
from ..data.views import ViewPlan
from ..errors import SenetError


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
    with torch.no_grad(), bar, batches(loader) as it:  # the loader's workers end on every way out
        for views, y, bad in it:
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
