"""Checkpoints that survive anything: atomic writes, last/best, the full training state, safe loading.

A checkpoint is a plain dict of tensors, numbers, strings and lists, so ``torch.load(weights_only=True)``
reads it and nothing is ever unpickled. The model's state_dict sits under ``"model"``, so
``senet.create_model(name, checkpoint="run/checkpoint_best.pt")`` loads it directly.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from .errors import CheckpointError

FORMAT = "senet-train-1"
LAST, BEST, WEIGHTS, SUMMARY = "checkpoint_last.pt", "checkpoint_best.pt", "model.safetensors", "summary.json"


def atomic_write(path: Path, write) -> Path:
    """``write(tmp_path)``, fsync, then rename over ``path``: a crash leaves the old file or the new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(d, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save(state: dict, path: Path) -> Path:
    """Atomically ``torch.save`` a full training state."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def write_json(obj, path: Path) -> Path:
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=2, default=str)
            f.write("\n")

    return atomic_write(path, write)


def torch_load_safely(path: Path):
    """``torch.load(weights_only=True)``: tensors, numbers, strings and containers only, never code.

    A pickle holding any other object is refused without being unpickled; a file that is no checkpoint
    at all (text, truncated, random bytes: the unpickler then fails in many ways) is one clear error.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"{path}: refused to load: the file holds pickled objects other than tensors ({first}); "
            "it was not unpickled. Re-save its state_dict, or convert it to safetensors"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"{path}: not a PyTorch checkpoint, or truncated ({type(e).__name__}: {e})"
        ) from None
    except Exception as e:  # garbage makes the restricted unpickler fail with IndexError, KeyError, ...
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(e).__name__})") from None


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
