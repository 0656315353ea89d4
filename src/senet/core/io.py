"""The only place files are written and checkpoints read: atomic writes and safe loading.

``atomic_write`` writes to a temporary file in the target's directory, fsyncs, gives it the permissions
any file the user writes gets (0666 minus the umask: 0644 under a usual umask) and renames it over the
target, so a crash leaves the old file or the new one, never half of one. Every file a verb writes goes
through it (the run's files, weights, exports, quantized models, reports, plots, tables, benchmark JSON);
``tests/test_reliability.py`` fails each verb's rename and finds the old file intact. Text is UTF-8, as
:func:`read_json` reads it. ``torch_load_safely`` reads with ``torch.load(weights_only=True)``: tensors,
numbers, strings and containers, never code.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from ..errors import CheckpointError, SenetError, SenetTypeError


def check_output(out, suffixes: tuple[str, ...], inputs=(), keep=()) -> Path:
    """Refuse, before any work, an output that cannot or must not be written: a directory, a missing or
    read-only directory, a suffix that does not match the format, one of the command's own inputs, or an
    existing file named as in ``keep`` (a training run's files)."""
    if not isinstance(out, str | os.PathLike):
        raise SenetTypeError(f"an output path must be a string or a path, got {type(out).__name__}")
    out = Path(out)
    if out.is_dir():
        raise SenetError(f"output {str(out)!r} is a directory; give a file name")
    if out.suffix.lower() not in suffixes:
        raise SenetError(f"output {str(out)!r}: this format is written to a {' or '.join(suffixes)} file")
    parent = out.parent if str(out.parent) else Path(".")
    nearest = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if nearest is not None and not nearest.is_dir():  # a file where a directory of the path belongs
        raise SenetError(f"cannot write {str(out)!r}: {str(nearest)!r} is a file, not a directory")
    if not parent.is_dir():
        raise SenetError(f"cannot write {str(out)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise SenetError(f"cannot write {str(out)!r}: directory {str(parent)!r} is not writable")
    for i in inputs:
        if i is not None and Path(i).exists() and out.exists() and os.path.samefile(i, out):
            raise SenetError(f"output {str(out)!r} is the input {str(i)!r}; write to another file")
        if i is not None and Path(i).resolve() == out.resolve():
            raise SenetError(f"output {str(out)!r} is the input {str(i)!r}; write to another file")
    if out.exists() and out.name in keep:
        raise SenetError(f"output {str(out)!r} is a file of a training run; write to another file")
    return out


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write: Callable[[str], object]) -> Path:
    """``write(tmp_path)``, fsync, the usual permissions, then rename over ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp made it 0600
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


def read_json(path):
    """A JSON file senet wrote; a damaged one is a one-line error naming it, never a traceback."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise SenetError(f"{path} is damaged ({type(e).__name__}: {e}); remove it or restore it") from None


def write_text(path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(obj, path) -> Path:
    return write_text(path, json.dumps(obj, indent=2, default=str) + "\n")


def torch_save(obj, path) -> Path:
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def torch_load_safely(path):
    """``torch.load(weights_only=True)``: tensors, numbers, strings and containers only, never code.

    A pickle holding any other object is refused without being unpickled; a file that is no checkpoint
    at all (text, truncated, random bytes: the unpickler then fails in many ways) is one clear error.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise CheckpointError(f"{path}: cannot be read ({e.strerror})") from None
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):  # torch.save: a zip, or a legacy pickle
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither a zip archive nor a pickle)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        text = str(e)
        found = next(
            (line.strip() for line in text.splitlines() if "GLOBAL" in line or "global" in line), None
        )
        if found is None:  # the restricted unpickler met something that is no pickle of tensors
            raise CheckpointError(f"{path}: not a PyTorch checkpoint, or damaged") from None
        raise CheckpointError(
            f"{path}: refused to load: the file holds pickled objects other than tensors ({found}); "
            "it was not unpickled. Re-save its state_dict, or convert it to safetensors"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as e:
        raise CheckpointError(
            f"{path}: not a PyTorch checkpoint, or truncated ({type(e).__name__}: {e})"
        ) from None
    except Exception as e:  # garbage makes the restricted unpickler fail with IndexError, KeyError, ...
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(e).__name__})") from None
