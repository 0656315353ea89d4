"""Evaluation data and a top-1/top-5 loop for the analyses (Sec. 7.2 uses 50 validation images per class).

The datasets come from the training engine's data module when it is present; until then the built-in
digits set (sklearn ``load_digits`` upsampled to 32x32, 10 classes) is built here.
"""

from __future__ import annotations

import functools

import torch
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from ..errors import DataError


def eval_set(data: str, model_name: str) -> tuple[Dataset, list[str]]:
    """The validation split of ``data`` and its class names, prepared for ``model_name``."""
    if data != "digits":
        raise DataError(f"data={data!r}: the analyses support 'digits' until the engine's data module lands")
    return _digits_val(), [str(d) for d in range(10)]


@functools.lru_cache(maxsize=1)
def _digits_val() -> Dataset:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).view(-1, 1, 8, 8) / 16.0
    x = torch.nn.functional.interpolate(x, size=32, mode="bilinear", align_corners=False).expand(
        -1, 3, -1, -1
    )
    x = (x - 0.5) / 0.5
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(y), generator=gen)
    val = order[: len(y) // 5]
    return TensorDataset(x[val].contiguous(), torch.tensor(y)[val])


def targets(dataset: Dataset) -> list[int]:
    """The label of every item, read without decoding images where the dataset allows it."""
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            return [int(t) for t in getattr(dataset, attr)]
    if isinstance(dataset, TensorDataset):
        return [int(t) for t in dataset.tensors[1]]
    if isinstance(dataset, Subset):
        inner = targets(dataset.dataset)
        return [inner[i] for i in dataset.indices]
    return [int(dataset[i][1]) for i in range(len(dataset))]


def per_class_indices(dataset: Dataset, classes: list[int], samples: int) -> dict[int, list[int]]:
    """The first ``samples`` indices of each class in ``classes`` (deterministic, as in Sec. 7.2)."""
    picked: dict[int, list[int]] = {c: [] for c in classes}
    for i, t in enumerate(targets(dataset)):
        if t in picked and len(picked[t]) < samples:
            picked[t].append(i)
    return picked


def loader(dataset: Dataset, batch_size: int = 128) -> DataLoader:
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)


@torch.no_grad()
def top_errors(model: torch.nn.Module, dataset: Dataset, device: str = "cpu", batch_size: int = 128) -> dict:
    """Top-1 and top-5 error in percent (the paper's metrics, Table 2) of ``model`` on ``dataset``."""
    model.eval().to(device)
    wrong1 = wrong5 = n = 0
    for x, y in loader(dataset, batch_size):
        logits = model(x.to(device))
        y = y.to(device)
        k = min(5, logits.shape[1])
        top = logits.topk(k, 1).indices
        wrong1 += int((top[:, 0] != y).sum())
        wrong5 += int((top != y[:, None]).all(1).sum())
        n += len(y)
    if n == 0:
        raise DataError("the evaluation set is empty")
    return {"top1_error": 100.0 * wrong1 / n, "top5_error": 100.0 * wrong5 / n, "images": n}
