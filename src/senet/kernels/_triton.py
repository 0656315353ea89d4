"""Triton kernels for the SE block (imported only when CUDA and Triton are present; see ``__init__``).

Each kernel makes one pass over memory where eager PyTorch makes several: the squeeze (Eq. 2) reads the
feature map once, and F_scale (Eq. 4) + residual + ReLU (Fig. 3) read x and the shortcut once and write
once. Both take NCHW-contiguous and channels-last tensors, accumulate in float32, and never sync the
host, so they can be captured in CUDA graphs. Backward passes are plain PyTorch.
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


@triton.jit
def _pool_nchw_kernel(x_ptr, out_ptr, rows, HW, inv_hw, BLOCK_R: tl.constexpr, BLOCK_HW: tl.constexpr):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    rmask = r < rows
    base = r.to(tl.int64)[:, None] * HW
    acc = tl.zeros([BLOCK_R, BLOCK_HW], dtype=tl.float32)
    for start in range(0, HW, BLOCK_HW):
        k = start + tl.arange(0, BLOCK_HW)
        m = rmask[:, None] & (k[None, :] < HW)
        acc += tl.load(x_ptr + base + k[None, :], mask=m, other=0.0).to(tl.float32)
    z = tl.sum(acc, axis=1) * inv_hw
    tl.store(out_ptr + r, z.to(out_ptr.dtype.element_ty), mask=rmask)


@triton.jit
def _pool_nhwc_kernel(x_ptr, out_ptr, C, HW, inv_hw, BLOCK_HW: tl.constexpr, BLOCK_C: tl.constexpr):
    n = tl.program_id(0).to(tl.int64)
    c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    cmask = c < C
    base = n * HW * C
    acc = tl.zeros([BLOCK_HW, BLOCK_C], dtype=tl.float32)
    for start in range(0, HW, BLOCK_HW):
        k = start + tl.arange(0, BLOCK_HW)
        m = (k[:, None] < HW) & cmask[None, :]
        acc += tl.load(x_ptr + base + k.to(tl.int64)[:, None] * C + c[None, :], mask=m, other=0.0).to(
            tl.float32
        )
    z = tl.sum(acc, axis=0) * inv_hw
    tl.store(out_ptr + n * C + c, z.to(out_ptr.dtype.element_ty), mask=cmask)


def _layout(x: torch.Tensor) -> str | None:
    if x.is_contiguous():
        return "nchw"
    if x.is_contiguous(memory_format=torch.channels_last):
        return "nhwc"
    return None


def supports(x: torch.Tensor, s: torch.Tensor | None = None, shortcut: torch.Tensor | None = None) -> bool:
    """Shapes, dtypes and layouts the kernels handle; anything else takes the PyTorch path."""
    if x.dim() != 4 or x.dtype not in DTYPES or _layout(x) is None or x.numel() == 0:
        return False
    if s is None:
        return True
    n, c = x.shape[:2]
    return (
        shortcut is not None
        and shortcut.shape == x.shape
        and shortcut.stride() == x.stride()
        and s.shape == (n, c, 1, 1)
        and s.dtype == x.dtype == shortcut.dtype
    )


def pool(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    out = torch.empty((n, c, 1, 1), dtype=x.dtype, device=x.device)
    hw = h * w
    block_hw = min(triton.next_power_of_2(hw), 64)
    if _layout(x) == "nchw":
        grid = (triton.cdiv(n * c, 32),)
        _pool_nchw_kernel[grid](x, out, n * c, hw, 1.0 / hw, BLOCK_R=32, BLOCK_HW=block_hw)
    else:
        grid = (n, triton.cdiv(c, 64))
        _pool_nhwc_kernel[grid](x, out, c, hw, 1.0 / hw, BLOCK_HW=block_hw, BLOCK_C=64)
    return out


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


class GlobalAvgPool(torch.autograd.Function):
    """Eq. 2 in one pass; backward spreads the gradient evenly over H x W, as ``mean`` does."""

    @staticmethod
    def forward(ctx, x):
        ctx.shape = x.shape
        return pool(x)

    @staticmethod
    def backward(ctx, grad):
        h, w = ctx.shape[2:]
        return (grad / (h * w)).expand(ctx.shape)


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
