"""Triton kernels for the SE block (imported only when CUDA and Triton are present; see ``__init__``).

F_scale (Eq. 4) + residual + ReLU (Fig. 3) in one pass: read x and the shortcut once, write once. NCHW-
contiguous and channels-last tensors, float32 arithmetic, no host sync (CUDA graphs can capture it); the
backward pass is plain PyTorch. (A one-pass squeeze kernel was measured on an H100 and dropped: it was no
faster than ``x.mean((2, 3))``; benchmarks/results/gpu_kernels.json.)
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

DTYPES = (torch.float32, torch.float16, torch.bfloat16)


@triton.jit
def _scale_add_relu_kernel(
    x_ptr, s_ptr, r_ptr, out_ptr, numel, C, HW, CHANNELS_LAST: tl.constexpr, BLOCK: tl.constexpr
):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < numel
    if CHANNELS_LAST:  # memory order N, H, W, C
        sidx = (offs // (HW * C)) * C + offs % C
    else:  # memory order N, C, H, W
        sidx = offs // HW
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    r = tl.load(r_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(s_ptr + sidx, mask=mask, other=0.0).to(tl.float32)
    y = tl.maximum(x * s + r, 0.0)
    tl.store(out_ptr + offs, y.to(out_ptr.dtype.element_ty), mask=mask)


def _layout(x: torch.Tensor) -> str | None:
    if x.is_contiguous():
        return "nchw"
    if x.is_contiguous(memory_format=torch.channels_last):
        return "nhwc"
    return None


def supports(x: torch.Tensor, s: torch.Tensor, shortcut: torch.Tensor) -> bool:
    """Shapes, dtypes and layouts the kernel handles; anything else takes the PyTorch path."""
    if x.dim() != 4 or x.dtype not in DTYPES or _layout(x) is None or x.numel() == 0:
        return False
    n, c = x.shape[:2]
    return (
        shortcut.shape == x.shape
        and shortcut.stride() == x.stride()
        and s.shape == (n, c, 1, 1)
        and s.dtype == x.dtype == shortcut.dtype
    )


def scale_add_relu(x: torch.Tensor, s: torch.Tensor, shortcut: torch.Tensor, out=None) -> torch.Tensor:
    n, c, h, w = x.shape
    out = torch.empty_like(x) if out is None else out  # keeps x's memory format; out=x is safe (elementwise)
    block = 1024
    grid = (triton.cdiv(x.numel(), block),)
    _scale_add_relu_kernel[grid](
        x,
        s.reshape(n * c),
        shortcut,
        out,
        x.numel(),
        c,
        h * w,
        CHANNELS_LAST=_layout(x) == "nhwc",
        BLOCK=block,
    )
    return out


class ScaleAddReLU(torch.autograd.Function):
    """relu(x * s + shortcut) in one pass; backward is the autograd of ``addcmul(...).relu_()``."""

    @staticmethod
    def forward(ctx, x, s, shortcut):
        out = scale_add_relu(x, s, shortcut)
        ctx.save_for_backward(x, s, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, s, out = ctx.saved_tensors
        g = torch.where(out > 0, grad, torch.zeros((), dtype=grad.dtype, device=grad.device))
        gx = g * s if ctx.needs_input_grad[0] else None
        gs = (g * x).sum((2, 3), keepdim=True) if ctx.needs_input_grad[1] else None
        return gx, gs, g if ctx.needs_input_grad[2] else None
