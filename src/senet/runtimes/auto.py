"""``--runtime auto``: the fastest installed runtime for a model, measured once on this machine and cached.

The candidates are built, each runs a batch of the size the verb will run, and the one with the lowest
median time over interleaved rounds (the starting one rotates, as ``senet bench`` does) is kept. The
choice is cached in ``$SENET_CACHE/runtimes.json`` (default ``$XDG_CACHE_HOME/senet`` or ``~/.cache/senet``)
under the file's content hash, the batch shape, the thread count, the CPU and the runtimes' versions: the
next run with the same file builds only the chosen runtime. A model without a file (random weights) is
measured every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ..core.io import atomic_write
from ..errors import SenetError

ROUNDS, WARMUP = 7, 3


def cache_dir() -> Path:
    value = os.environ.get("SENET_CACHE", "").strip()
    if value:
        if os.path.exists(value) and not os.path.isdir(value):
            raise SenetError(
                f"SENET_CACHE={value!r} is a file, not a directory: point it at a directory, or unset it"
            )
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "senet"


def file_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions(names) -> dict:
    import importlib.metadata as md

    out = {"torch": torch.__version__}
    for n in names:
        pkg = {"ort": "onnxruntime", "openvino": "openvino"}.get(n)
        if pkg:
            try:
                out[pkg] = md.version(pkg)
            except md.PackageNotFoundError:
                out[pkg] = None
    return out


def cache_key(source: str | None, names, shape, threads: int) -> str | None:
    """The cache key of one choice (None: nothing to key it on, so it is not cached)."""
    if source is None or not os.path.isfile(source):
        return None
    from ..core.runtime import cpu_model

    what = {
        "file": file_hash(source),
        "runtimes": sorted(names),
        "shape": list(shape),
        "threads": threads,
        "cpu": cpu_model(),
        "versions": _versions(names),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()


def cached(key: str | None) -> str | None:
    """The runtime chosen before under ``key`` (None: not measured yet, or no key)."""
    if key is None:
        return None
    path = cache_dir() / "runtimes.json"
    try:
        return json.loads(path.read_text()).get(key, {}).get("runtime")
    except (OSError, ValueError, AttributeError):
        return None  # no cache yet, or one that is not ours: measure again


def remember(key: str | None, runtime: str, times: dict[str, float]) -> None:
    """Record the choice (best effort: an unwritable cache only means measuring again next time)."""
    if key is None:
        return
    path = cache_dir() / "runtimes.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            table = json.loads(path.read_text())
            table = table if isinstance(table, dict) else {}
        except (OSError, ValueError):
            table = {}
        table[key] = {"runtime": runtime, "ms": {k: round(v, 3) for k, v in times.items()}}
        atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(table, indent=1)))
    except OSError:
        pass


def choose(builders: dict[str, Callable[[], Callable]], x: torch.Tensor, source: str | None, threads: int):
    """(the chosen runtime's name, its runner, the measured ms per runtime or None when the cache answered).

    ``builders``: runtime name -> a function that builds its runner (images -> logits)."""
    key = cache_key(source, builders, x.shape, threads)
    name = cached(key)
    if name in builders:
        return name, builders[name](), None
    runners = {n: build() for n, build in builders.items()}
    times = measure(runners, x)
    name = min(times, key=times.get)
    remember(key, name, times)
    return name, runners[name], times


def measure(candidates: dict[str, Callable], x: torch.Tensor) -> dict[str, float]:
    """Median ms of each candidate on ``x``, over interleaved rounds after a warm-up."""
    names = list(candidates)
    times: dict[str, list[float]] = {n: [] for n in names}
    with torch.inference_mode():
        for n in names:
            for _ in range(WARMUP):
                candidates[n](x)
        for r in range(ROUNDS):
            for n in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                candidates[n](x)
                times[n].append((time.perf_counter() - start) * 1e3)
    return {n: statistics.median(t) for n, t in times.items()}
