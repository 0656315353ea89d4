"""Data (PAPER.md section 8), on torchvision: ``datasets`` (the sources ``--data`` names, image reading,
unreadable files), ``transforms`` (augmentation and evaluation crops), ``views`` (the multi-view protocol's
views), ``samplers`` (class-aware and sharded orders, the loader). Every loader yields ``(images, targets,
skipped)``: unreadable images are dropped from the batch and counted, or raise with ``strict``.

The names below are the package's interface (``from senet import data as D``; ``D.build``, ``D.loader``).
"""

from .datasets import (
    KINDS,
    ImageFiles,
    Seeded,
    Skipping,
    TensorImages,
    UnreadableImage,
    build,
    parse,
    read_image,
)
from .samplers import (
    ClassAwareSampler,
    GlobalBatchShard,
    SkipFirst,
    batches,
    collate,
    eval_subset,
    loader,
    train_sampler,
)
from .transforms import Cutout, Views, eval_transform, train_transform
from .views import MultiView, ViewPlan

__all__ = [
    "KINDS",
    "ClassAwareSampler",
    "Cutout",
    "GlobalBatchShard",
    "ImageFiles",
    "MultiView",
    "Seeded",
    "SkipFirst",
    "Skipping",
    "TensorImages",
    "UnreadableImage",
    "ViewPlan",
    "Views",
    "batches",
    "build",
    "collate",
    "eval_subset",
    "eval_transform",
    "loader",
    "parse",
    "read_image",
    "train_sampler",
    "train_transform",
]
