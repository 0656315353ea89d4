"""Fused SE kernels: Triton on CUDA, pure PyTorch everywhere else, chosen automatically per call.

Two operations, each the same function on every path (parity tests in ``tests/test_fast.py``):

- ``global_avg_pool(x)``: the squeeze F_sq (Eq. 2), the mean over H x W, shape (N, C, 1, 1).
- ``scale_add_relu(x, s, shortcut)``: ``relu(x * s + shortcut)``, the excitation's F_scale (Eq. 4),
  the residual addition and the ReLU of an SE residual block (Fig. 3) in one pass over memory.

The Triton path is taken only for CUDA tensors in eager mode, when ``torch.cuda.is_available()`` and
``import triton`` succeeds, and ``SENET_TRITON`` is not ``0``. Under ``torch.compile`` the PyTorch form is
used, because Inductor fuses it itself. Triton is imported lazily: CPU code never imports it.
"""

from __future__ import annotations

import functools
import os

import torch

__all__ = ["global_avg_pool", "scale_add_relu", "triton_available"]


@functools.cache
def triton_available() -> bool:
    """True when CUDA is present and Triton imports (checked once per process)."""
    if os.environ.get("SENET_TRITON", "1") == "0" or not torch.cuda.is_available():
        return False
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def _use_triton(*tensors: torch.Tensor) -> bool:
    # Decided from device and compile state only (no data-dependent branch, no host sync).
    if torch.compiler.is_compiling() or not all(t.is_cuda for t in tensors):
        return False
    return triton_available()


def global_avg_pool(x: torch.Tensor) -> torch.Tensor:
    """Eq. 2: z_c = mean over (i, j) of u_c(i, j), kept as (N, C, 1, 1); either memory format."""
    if _use_triton(x):
        from . import _triton

        if _triton.supports(x):
            return _triton.GlobalAvgPool.apply(x)
    return x.mean((2, 3), keepdim=True)


def scale_add_relu(
    x: torch.Tensor, s: torch.Tensor, shortcut: torch.Tensor, inplace: bool = False
) -> torch.Tensor:
    """``relu(x * s + shortcut)`` with s of shape (N, C, 1, 1) (Eq. 4 + the residual of Fig. 3).

    PyTorch form: ``addcmul`` then an in-place ReLU, two passes instead of mul, add, ReLU's three and one
    intermediate fewer; the result keeps ``x``'s memory format. ``addcmul`` may round differently from
    ``x * s + shortcut`` (a fused multiply-add), within float32 round-off. ``inplace=True`` writes the
    result into ``x`` (no allocation; only where autograd does not need ``x``, e.g. inference).
    """
    if _use_triton(x, s, shortcut):
        from . import _triton

        if _triton.supports(x, s, shortcut):
            if inplace:
                return _triton.scale_add_relu(x, s, shortcut, out=x)
            return _triton.ScaleAddReLU.apply(x, s, shortcut)
    if inplace:
        return torch.addcmul(shortcut, x, s, out=x).relu_()
    return torch.addcmul(shortcut, x, s).relu_()
