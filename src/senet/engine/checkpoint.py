"""What a training checkpoint holds and how it is found again: the full state, safe loading, RNG state.

A checkpoint is a plain dict of tensors, numbers, strings and lists, so ``torch.load(weights_only=True)``
reads it and nothing is ever unpickled (``senet.io``). The model's state_dict sits under ``"model"``, so
``senet.create_model(name, checkpoint="run/checkpoint_best.pt")`` loads it directly.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from ..errors import CheckpointError
from ..io import torch_load_safely, torch_save
from .rundir import BEST, LAST

FORMAT = "senet-train-1"


def save(state: dict, path: Path) -> Path:
    """Atomically ``torch.save`` a full training state."""
    return torch_save(state, path)


def load(path: str | os.PathLike) -> dict:
    """A full training state, read with ``weights_only=True``; a pickle with code is refused, not run."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    state = torch_load_safely(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise CheckpointError(
            f"{path}: not a senet training checkpoint (for weights only, use "
            "senet.create_model(name, checkpoint=path) or `senet eval --checkpoint`)"
        )
    return state


def find_resume(out: Path) -> tuple[Path, dict] | None:
    """The newest checkpoint in ``out`` that loads (last, else best); None if there is none."""
    good = []
    for name in (LAST, BEST):
        p = Path(out) / name
        if p.is_file():
            try:
                good.append((p, load(p)))
            except CheckpointError as e:
                print(f"senet train: skipping {p}: {e}")
    if not good:
        return None
    return max(good, key=lambda ps: ps[1]["global_step"])


def check_compatible(state: dict, model: str, num_classes: int, path) -> None:
    """A checkpoint of another model or class count is refused with both named."""
    cfg = state.get("config", {})
    theirs = (cfg.get("model"), state.get("num_classes"))
    if theirs != (model, num_classes):
        raise CheckpointError(
            f"{path} is from {theirs[0]} with {theirs[1]} classes; this run is {model} with "
            f"{num_classes} classes (use another --out, or drop --resume)"
        )


# ---- RNG state as tensors and lists (weights_only-loadable) ---------------------------------------------
def rng_state() -> dict:
    py = random.getstate()
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": [py[0], list(py[1]), py[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
    }


def set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    if s["cuda"] and torch.cuda.is_available() and len(s["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(s["cuda"])
    py = s["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = s["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), *n[2:]))
