"""What a training checkpoint holds and how it is found again: the full state, safe loading, RNG state.

A checkpoint is a plain dict of tensors, numbers, strings and lists, so ``torch.load(weights_only=True)``
reads it and nothing is ever unpickled (``senet.core.io``). The model's state_dict sits under ``"model"``, so
``senet.create_model(name, checkpoint="run/checkpoint_best.pt")`` loads it directly.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import numpy as np
import torch

from ..core.io import torch_load_safely, torch_save
from ..errors import CheckpointError
from .rundir import BEST, LAST

FORMAT = "senet-train-1"


def save(state: dict, path: Path) -> Path:
    """Atomically ``torch.save`` a full training state."""
    return torch_save(state, path)


def load(path: str | os.PathLike) -> dict:
    """A full training state, read with ``weights_only=True``; a pickle with code is refused, not run."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {str(path)!r} is a directory; give a checkpoint file in it")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    state = torch_load_safely(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise CheckpointError(
            f"{path}: not a senet training checkpoint (for weights only, use "
            "senet.create_model(name, checkpoint=path) or `senet eval --checkpoint`)"
        )
    return state


def find_resume(out: Path) -> tuple[tuple[Path, dict] | None, list[str]]:
    """The newest checkpoint in ``out`` that loads (last, else best), and why the others did not load."""
    good, errors = [], []
    for name in (LAST, BEST):
        p = Path(out) / name
        if p.is_file():
            try:
                good.append((p, load(p)))
            except CheckpointError as e:
                errors.append(str(e))
    if not good:
        return None, errors
    return max(good, key=lambda ps: ps[1]["global_step"]), errors


def check_compatible(state: dict, model: str, num_classes: int, path) -> None:
    """A checkpoint of another model or class count is refused with both named."""
    cfg = state.get("config", {})
    theirs = (cfg.get("model"), state.get("num_classes"))
    if theirs != (model, num_classes):
        raise CheckpointError(
            f"{path} is from {theirs[0]} with {theirs[1]} classes; this run is {model} with "
            f"{num_classes} classes (use another --out, or drop --resume)"
        )


# Settings that change what a run computes: a resumed run must keep them. Others (workers, device,
# progress, logging, channels-last, compile, deterministic, max_steps) only change how it runs.
COMPUTED = (
    "model",
    "data",
    "recipe",
    "batch_size",
    "accum_steps",
    "lr",
    "weight_decay",
    "label_smoothing",
    "class_balanced",
    "image_size",
    "seed",
    "amp",
    "max_batches",
    "sync_bn",
    "model_options",
    "init",
    "freeze_backbone",
    "grad_checkpointing",  # the same numbers to round-off; kept with the run for clarity
    "overrides",
)
# Schedules whose learning rate at epoch e does not depend on the run's length: --epochs may change.
LENGTH_FREE_SCHEDULES = ("step", "plateau")


def _plain(v):
    return json.loads(json.dumps(v, default=str))  # tuples and lists, as config.json has them


def check_settings(state: dict, now: dict, recipe, path) -> None:
    """Refuse to resume with a setting that changes what the run computes, naming each and both values.

    ``--epochs`` may change where the schedule does not depend on the run's length (step, plateau) and
    the run has not passed the new length: the result then equals a run started with it. A cosine or
    multi-step schedule's shape depends on the length, so another ``--epochs`` is refused there.
    """
    saved = dict(state.get("config", {}))
    if "model_options" in saved and saved.get("model"):  # an option given at its default is the same run
        from ..models.factory import model_options

        defaults = model_options(saved["model"])
        saved["model_options"] = {**defaults, **saved["model_options"]}
        now = {**now, "model_options": {**defaults, **(now.get("model_options") or {})}}
    diffs = [
        f"{k} {_plain(saved[k])!r} -> {_plain(now.get(k))!r}"
        for k in COMPUTED
        if k in saved and _plain(saved[k]) != _plain(now.get(k))
    ]
    if diffs:
        raise CheckpointError(
            f"{path} was trained with other settings: {'; '.join(diffs)}. Resume with the run's settings, "
            "or start a new run in another --out"
        )
    before, after = saved.get("epochs"), now.get("epochs")
    if before is None or before == after:
        return
    if recipe.schedule not in LENGTH_FREE_SCHEDULES:
        raise CheckpointError(
            f"{path}: epochs {before} -> {after}: the {recipe.schedule} schedule's shape depends on the run's "
            f"length, so the result would equal no {after}-epoch run; keep --epochs {before} or start a new run"
        )
    if state.get("epoch", 0) > after or (state.get("epoch", 0) == after and state.get("step_in_epoch", 0)):
        raise CheckpointError(f"{path} has already trained past epoch {after}; choose --epochs >= {before}")


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
