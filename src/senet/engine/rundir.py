"""The run directory: one object owns its paths, its lock and what counts as a run there, and the files
beside the checkpoints (config.json, metrics.csv, TensorBoard, curves.png, summary.json: written last,
its presence marks a finished run). Rank 0 only; every file is written atomically (``senet.core.io``)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import platform
import shutil
import socket
import time
from pathlib import Path

import torch

from ..core import io as sio
from ..errors import SenetError

try:  # POSIX advisory locks; elsewhere a run directory is not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

LAST, BEST = "checkpoint_last.pt", "checkpoint_best.pt"
WEIGHTS, SUMMARY, CONFIG = "model.safetensors", "summary.json", "config.json"
EMA_WEIGHTS = "model_ema.safetensors"  # the EMA of the weights (recipe.ema_decay)
METRICS, CURVES, TENSORBOARD = "metrics.csv", "curves.png", "tensorboard"
LOCK = ".lock"
RUN_FILES = (LAST, BEST, WEIGHTS, EMA_WEIGHTS, SUMMARY, CONFIG, METRICS, CURVES, TENSORBOARD)


class RunDir:
    """A run directory: its paths, an exclusive lock held for the run, and its state.

    ``with RunDir(out).hold(): ...`` creates the directory if needed, takes the lock (a second run on the
    same directory is refused, naming the holder), removes temporary files a killed run left behind, and,
    if the run fails before its first checkpoint, removes what it wrote (and the directory, if it made it).
    """

    def __init__(self, path):
        self.path = Path(path)
        self._made: list[Path] = []

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def existing(self) -> list[str]:
        """The run files already there (a directory holding any of them holds a run)."""
        return [n for n in RUN_FILES if (self.path / n).exists()] if self.path.is_dir() else []

    def checkpoints(self) -> list[Path]:
        return [self.path / n for n in (LAST, BEST) if (self.path / n).is_file()]

    def summary(self) -> dict | None:
        """The finished run's summary, or None; a summary that does not parse is an error, not a guess."""
        p = self.path / SUMMARY
        if not p.is_file():
            return None
        try:
            summary = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise SenetError(
                f"{p} is unreadable ({type(e).__name__}); remove it or choose another --out"
            ) from None
        if not isinstance(summary, dict):
            raise SenetError(f"{p} is not a run summary; remove it or choose another --out")
        return summary

    @contextlib.contextmanager
    def hold(self):
        if self.path.exists() and not self.path.is_dir():
            raise SenetError(f"--out {str(self.path)!r} is a file, not a directory; choose another --out")
        made = [p for p in (self.path, *self.path.parents) if not p.exists()]  # the folders this run makes
        self.path.mkdir(parents=True, exist_ok=True)
        self._made = made
        before = set(os.listdir(self.path))
        handle = self._lock()
        ok = False
        try:
            self._remove_stale_temporaries()
            yield self
            ok = True
        finally:
            if not ok and not self.checkpoints():
                self._undo(before)
            self._unlock(handle)

    def _lock(self):
        if fcntl is None:
            return None
        f = open(self.path / LOCK, "a+")  # noqa: SIM115  (held for the run)
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise SenetError(
                f"{self.path} is in use by {holder}; wait for that run to end or choose another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}")
        f.flush()
        return f

    def _unlock(self, f) -> None:
        if f is None:
            return
        with contextlib.suppress(OSError):
            (self.path / LOCK).unlink()
        f.close()
        for folder in self._made:  # innermost first; each only if nothing else is in it
            try:
                folder.rmdir()
            except OSError:
                break

    def _remove_stale_temporaries(self) -> None:
        """``.NAME.*.tmp`` files are atomic writes a killed process never finished (``senet.core.io``)."""
        for name in RUN_FILES:
            for p in self.path.glob(f".{name}.*.tmp"):
                with contextlib.suppress(OSError):
                    p.unlink()

    def _undo(self, before: set[str]) -> None:
        """A failed start leaves nothing behind: remove the run files this run added (and nothing else:
        another process may write into the same folder)."""
        for name in set(os.listdir(self.path)) & set(RUN_FILES) - before:
            p = self.path / name
            with contextlib.suppress(OSError):
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()


COLUMNS = (
    "epoch",
    "train_loss",
    "train_top1_error",
    "val_loss",
    "val_top1_error",
    "val_top5_error",
    "lr",
    "epoch_time_s",
    "images_per_s",
    "skipped",
)


def write_config(out: Path, config: dict, recipe: dict) -> None:
    versions = {"torch": torch.__version__, "python": platform.python_version()}
    sio.write_json({"config": config, "recipe": recipe, "versions": versions}, out / CONFIG)


def write_metrics(out: Path, history: list[dict]) -> None:
    """metrics.csv rewritten from the history (a resumed run never duplicates rows)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, extrasaction="ignore")
    w.writeheader()
    w.writerows(history)
    sio.write_text(out / METRICS, buf.getvalue())


def log_scalars(writer, row: dict, step: int) -> None:
    """TensorBoard scalars of one epoch (no-op without a writer)."""
    if writer is None:
        return
    for k in ("train_loss", "val_loss"):
        writer.add_scalar(f"loss/{k[:-5]}", row[k], step)
    for k in ("train_top1_error", "val_top1_error", "val_top5_error"):
        writer.add_scalar(f"error/{k}", row[k], step)
    writer.add_scalar("lr", row["lr"], step)
    writer.add_scalar("images_per_s", row["images_per_s"], step)
    writer.flush()


def write_curves(out: Path, history: list[dict], title: str) -> None:
    """curves.png: loss and top-1 error per epoch, train and val."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((a, "loss", "loss"), (b, "top1_error", "top-1 error (%)")):
        ax.plot(epochs, [r[f"train_{key}"] for r in history], "o-", label="train")
        ax.plot(epochs, [r[f"val_{key}"] for r in history], "o-", label="val")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    sio.atomic_write(out / CURVES, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
