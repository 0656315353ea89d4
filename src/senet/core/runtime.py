"""Where and in what precision a model runs: ``--device`` names and ``--amp bf16|fp16``, checked once."""

from __future__ import annotations

import contextlib

import torch

from ..errors import SenetError

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(amp: str | None) -> None:
    if amp is not None and amp not in AMP_DTYPES:
        raise SenetError(
            f"amp={amp!r} is not allowed; choose one of {', '.join(map(repr, AMP_DTYPES))} or none"
        )


def autocast(device_type: str, amp: str | None):
    """``torch.autocast`` in the named precision, or a null context without ``amp``."""
    if amp is None:
        return contextlib.nullcontext()
    check_amp(amp)
    return torch.autocast(device_type, dtype=AMP_DTYPES[amp])


def resolve_device(name: str | None) -> torch.device:
    """``cpu``, ``cuda`` or ``cuda:N`` (default: cuda if available); anything else is a one-line error."""
    if name is not None and not isinstance(name, str | torch.device):
        raise SenetError(f"device must be a name such as 'cpu' or 'cuda', got {type(name).__name__}")
    name = str(name) if name is not None else ("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        raise SenetError(f"unknown device {name!r}; use cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise SenetError(f"device {name!r} is not supported; use cpu, cuda or cuda:N")
    if device.type == "cpu" and device.index is not None:
        raise SenetError(f"device {name!r}: the CPU is one device; use cpu")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SenetError(f"device {name!r} asked for, but CUDA is not available here; use --device cpu")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SenetError(
                f"device {name!r} asked for, but {count} GPU(s) are visible on this node; "
                f"use torchrun --nproc_per_node {count} (one process per GPU) or --device cpu"
            )
    return device


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; else what ``platform`` says): named with every timing."""
    import contextlib
    import platform

    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()
