"""The sources ``--data`` names, on torchvision: ``digits`` (scikit-learn's 1,797 handwritten digits, 8x8
upsampled to 32x32), ``synthetic`` (learnable random patterns, for tests and benchmarks),
``imagefolder:PATH`` (``train/`` and ``val/`` class folders, the ImageNet/Places365 layout),
``cifar10:PATH`` / ``cifar100:PATH`` (the python release, never downloaded); images read by
:func:`read_image`, unreadable ones skipped (:class:`Skipping`) or refused with ``strict``, and training
items augmented under their own seed (:class:`Seeded`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import has_file_allowed_extension
from torchvision.transforms import v2

from ..errors import DataError
from .transforms import Views, eval_transform, train_transform

KINDS = ("digits", "synthetic", "imagefolder", "cifar10", "cifar100")
DIGITS_MEAN, DIGITS_STD = (0.2, 0.2, 0.2), (0.33, 0.33, 0.33)  # of the 32x32 upsampled train images
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def parse(spec: str) -> tuple[str, Path | None]:
    """``"cifar10:/data/c10"`` -> ``("cifar10", Path("/data/c10"))``; names the allowed forms on error."""
    kind, _, path = spec.partition(":")
    if kind not in KINDS:
        raise DataError(
            f"unknown data {spec!r}: allowed are digits, synthetic[:CLASSES], imagefolder:PATH, "
            "cifar10:PATH, cifar100:PATH"
        )
    if kind == "synthetic" and path:  # synthetic:N, N classes
        if not path.isdigit() or not 2 <= int(path) <= 1000:
            raise DataError(f"--data synthetic:N takes a number of classes from 2 to 1000 (got {spec!r})")
        return kind, None
    if kind in ("digits", "synthetic"):
        if path:
            raise DataError(f"--data {kind} is built in and takes no path (got {spec!r})")
        return kind, None
    if not path:
        raise DataError(f"--data {kind} needs a directory: {kind}:PATH")
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise DataError(
            f"data directory {str(p)!r} is a file, not a directory: {kind}:PATH takes a directory"
        )
    if not p.is_dir():
        raise DataError(f"data directory {str(p)!r} does not exist")
    return kind, p


def build(spec: str, views: Views, strict: bool = False) -> tuple[Dataset, Dataset, list[str], tuple]:
    """Training and validation sets, their class names and the normalisation mean/std."""
    kind, path = parse(spec)
    mean, std = {
        "digits": (DIGITS_MEAN, DIGITS_STD),
        "synthetic": ((0.5,) * 3, (0.5,) * 3),
        "imagefolder": (IMAGENET_MEAN, IMAGENET_STD),
    }.get(kind, (CIFAR_MEAN, CIFAR_STD))
    train_tf, eval_tf = train_transform(views, mean, std), eval_transform(views, mean, std)
    if kind == "digits":
        train, val, classes = _digits(train_tf, eval_tf)
    elif kind == "synthetic":
        count = int(spec.partition(":")[2] or 10)
        train, val, classes = _synthetic(train_tf, eval_tf, views.train_size, count)
    elif kind == "imagefolder":
        train, val, classes = _imagefolder(path, train_tf, eval_tf)
    else:
        train, val, classes = _cifar(kind, path, train_tf, eval_tf)
    if len(classes) < 2:  # one class: every prediction is right, the errors measure nothing
        raise DataError(
            f"{spec} holds {len(classes)} class ({', '.join(map(repr, classes))}); training and error rates "
            "need at least 2 classes: add a folder per class under train/ and val/"
        )
    return Skipping(train, strict), Skipping(val, strict), classes, (mean, std)


class TensorImages(Dataset):
    """uint8 images (N, 3, H, W) and labels with a transform: the built-in digits and synthetic data."""

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, transform, classes: list[str]):
        self.images, self.targets, self.transform, self.classes = images, targets.tolist(), transform, classes

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        return self.transform(v2.functional.to_image(self.images[i])), self.targets[i]


def _digits(train_tf, eval_tf):
    """scikit-learn's digits (no download): 8x8 at 0..16 -> 32x32 uint8 RGB; fixed stratified 1347/450 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = torch.nn.functional.interpolate(x, size=32, mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    y = torch.tensor(d.target)
    tr, te = train_test_split(range(len(y)), test_size=450, random_state=0, stratify=d.target)
    classes = [str(c) for c in range(10)]
    return (
        TensorImages(x[tr], y[tr], train_tf, classes),
        TensorImages(x[te], y[te], eval_tf, classes),
        classes,
    )


def _synthetic(train_tf, eval_tf, size: int, classes: int = 10, n_train: int = 512, n_val: int = 128):
    """Learnable random data: each class is a fixed smooth random pattern plus noise (fixed seed)."""
    g = torch.Generator().manual_seed(1234)
    coarse = torch.rand(classes, 3, 4, 4, generator=g)  # smooth colour blobs: learnable in a few steps
    protos = torch.nn.functional.interpolate(coarse, size=size, mode="bilinear", align_corners=False)

    def make(n):
        y = torch.arange(n) % classes
        x = 0.6 * protos[y] + 0.4 * torch.rand(n, 3, size, size, generator=g)
        return (x * 255).round().to(torch.uint8), y

    names = [f"class{c}" for c in range(classes)]
    (xt, yt), (xv, yv) = make(n_train), make(n_val)
    return TensorImages(xt, yt, train_tf, names), TensorImages(xv, yv, eval_tf, names), names


class UnreadableImage(OSError):
    """An image file that cannot be read or decoded (corrupted, truncated, a decompression bomb)."""


def read_image(path) -> Image.Image:
    """An RGB image from a file; 16-bit and float images are scaled to 8 bits (not clipped); any failure
    to read or decode is an :class:`UnreadableImage`, which the loaders skip and count."""
    try:
        with open(path, "rb") as f:
            img = Image.open(f)
            img.load()
            if img.mode.startswith("I"):  # 16-bit (I;16*) or 32-bit integer greyscale
                a = np.asarray(img).astype(np.float64)
                if img.mode.startswith("I;16") or a.max(initial=0) > 255:
                    a = a / 257.0  # 0..65535 -> 0..255
                img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
            elif img.mode == "F":  # 32-bit float greyscale: 0..1 as most writers store it, else 0..255
                a = np.nan_to_num(np.asarray(img, dtype=np.float64))
                a = a * 255.0 if a.max(initial=0) <= 1.0 else a
                img = Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8))
            return img.convert("RGB")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise UnreadableImage(f"{path}: {type(e).__name__}: {e}") from None


class ImageFiles(ImageFolder):
    """torchvision's ImageFolder with :func:`read_image`, and linked folders followed once each: a link
    loop (or two links to one folder) cannot multiply the files, and sample order stays ImageFolder's.

    Hidden entries (names starting with ``.``: ``.ipynb_checkpoints``, ``.DS_Store``, macOS's ``._*``
    copies) are skipped, as class folders and inside them; torchvision's ImageFolder counts a hidden
    folder as a class."""

    def __init__(self, root: str, transform):
        super().__init__(root, transform=transform, loader=read_image)

    def find_classes(self, directory):
        classes = sorted(e.name for e in os.scandir(directory) if e.is_dir() and not e.name.startswith("."))
        if not classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
        return classes, {c: i for i, c in enumerate(classes)}

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        if is_valid_file is None:
            is_valid_file = lambda p: has_file_allowed_extension(p, extensions)  # noqa: E731
        instances, empty = [], []
        for target_class in sorted(class_to_idx):
            target_dir = os.path.join(directory, target_class)
            walked, seen = [], set()
            for root, dirs, files in os.walk(target_dir, followlinks=True):
                real = os.path.realpath(root)
                if real in seen:  # a folder reached again through a link: not a second time
                    dirs[:] = []
                    continue
                seen.add(real)
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                walked.append((root, [f for f in files if not f.startswith(".")]))
            found = [
                (os.path.join(root, f), class_to_idx[target_class])
                for root, files in sorted(walked)
                for f in sorted(files)
                if is_valid_file(os.path.join(root, f))
            ]
            instances += found
            if not found:
                empty.append(target_class)
        if empty and not allow_empty:
            raise FileNotFoundError(f"Found no valid file for the classes {', '.join(empty)}")
        return instances


def _imagefolder(path: Path, train_tf, eval_tf):
    sets = []
    for split, tf in (("train", train_tf), ("val", eval_tf)):
        d = path / split
        if d.exists() and not d.is_dir():
            raise DataError(f"{d} is a file, not a directory (expected {path}/{split}/<class>/*)")
        if not d.is_dir():
            raise DataError(
                f"{path} has no {split}/ folder (expected {path}/train/<class>/* and {path}/val/<class>/*)"
            )
        try:
            sets.append(ImageFiles(str(d), transform=tf))
        except FileNotFoundError as e:  # empty folder, or a class folder without images
            raise DataError(f"{d}: {e}") from None
    if sets[0].classes != sets[1].classes:
        raise DataError(f"{path}: train/ and val/ have different class folders")
    return sets[0], sets[1], sets[0].classes


def _cifar(kind: str, path: Path, train_tf, eval_tf):
    from torchvision.datasets import CIFAR10, CIFAR100

    cls, folder = (CIFAR10, "cifar-10-batches-py") if kind == "cifar10" else (CIFAR100, "cifar-100-python")
    root = path.parent if path.name == folder else path
    try:
        sets = [
            cls(str(root), train=t, transform=tf, download=False)
            for t, tf in ((True, train_tf), (False, eval_tf))
        ]
    except RuntimeError as e:
        raise DataError(
            f"{root}: no readable {folder}/ inside ({e}); download the python release yourself "
            "and pass its parent directory"
        ) from None
    return sets[0], sets[1], list(sets[0].classes)


# ---- wrappers: unreadable images, seeded augmentation -----------------------------------------------
class Skipping(Dataset):
    """Wraps a dataset: an item that fails to load becomes ``None`` (counted by :func:`collate`)."""

    def __init__(self, dataset: Dataset, strict: bool):
        self.dataset, self.strict = dataset, strict
        self.classes = dataset.classes
        self.targets = list(
            getattr(dataset, "targets", None) or [t for _, t in getattr(dataset, "samples", [])]
        )

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        try:
            return self.dataset[i]
        except UnreadableImage as e:
            if self.strict:
                raise DataError(f"unreadable image {e} (drop --strict to skip such files)") from None
            return None
        except (ValueError, RuntimeError, TypeError) as e:  # a readable image the transform cannot take
            raise DataError(
                f"item {i} cannot be shown to the model: {e}; check --image-size / --crop against the "
                "data (digits, synthetic and CIFAR images are 32x32)"
            ) from None


class Seeded(Dataset):
    """Training items whose random augmentation is a function of (seed, epoch, index) alone.

    Each item is transformed under its own seed (torch's CPU RNG, which torchvision's transforms draw
    from, saved and restored around it), so an image is augmented the same way whichever worker loads it,
    however many workers there are, on whichever rank, and after a resume mid-epoch.
    """

    def __init__(self, dataset: Dataset, seed: int):
        self.dataset, self.seed, self.epoch = dataset, seed, 0
        self.classes, self.targets = dataset.classes, dataset.targets

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        rng = torch.default_generator  # what torchvision's transforms draw from (CPU)
        state = rng.get_state()
        rng.manual_seed(((self.seed * 1_000_003 + self.epoch) * 1_000_033 + i) % 2**63)
        try:
            return self.dataset[i]
        finally:
            rng.set_state(state)
