"""Mixed precision: the names users give (``--amp bf16|fp16``) and the one autocast context they mean."""

from __future__ import annotations

import contextlib

import torch

from .errors import SenetError

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
