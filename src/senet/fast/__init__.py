"""Fast paths, applied explicitly: the models' own ``forward`` is the paper's figure, these compute the
same function faster. ``optimize_for_inference`` folds BN into convs and fuses each residual unit's end
(``fold``, ``fuse``); ``kernels`` holds the fused SE step (PyTorch, or Triton on CUDA with SENET_TRITON=1).
``squeeze_before_last_conv`` (``squeeze``) computes each bottleneck's SE gate from its last 1x1 conv's input,
conv3 + BN3 absorbed into ``fc1``: an exact inference rewrite for graph runtimes (OpenVINO, ONNX Runtime).
``subsample_before_stride`` (``subsample``) then lets the last unit of a stage compute its end only at the
positions that the next unit's 1x1 stride-2 convs read (official layout), those convs taking stride 1.
``rewrite_for_runtimes`` applies the two as the float32 exports for OpenVINO and ONNX Runtime use them.
"""

from __future__ import annotations

import copy

from torch import nn

from .fold import fold_conv_bn
from .fuse import fuse_residual_steps
from .squeeze import squeeze_before_last_conv
from .subsample import subsample_before_stride

__all__ = [
    "fold_conv_bn",
    "fuse_residual_steps",
    "optimize_for_inference",
    "rewrite_for_runtimes",
    "squeeze_before_last_conv",
    "subsample_before_stride",
]


def optimize_for_inference(model: nn.Module, inplace: bool = False) -> nn.Module:
    """An eval-mode copy of ``model`` (or ``model`` itself if ``inplace``) that computes the same function
    faster: BN folded into the convs before it, and each residual unit's ``relu(se(x) + shortcut)`` (or
    ``relu(x + shortcut)``) one fused step without autograd.

    Parameters stop requiring gradients: the result is for inference only. Folded BNs become
    ``nn.Identity`` and their convs gain a bias, so the state_dict keys differ from the original's; keep
    the original model for saving and fine-tuning. Hooks on a fused unit's SE module no longer fire (its
    ``gate_fn`` still runs as a module): register analysis hooks on the original.
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    fold_conv_bn(model)
    fuse_residual_steps(model)
    model.requires_grad_(False)
    return model


def rewrite_for_runtimes(model: nn.Module) -> tuple[nn.Module, dict[str, int]]:
    """An eval-mode copy of ``model`` for a graph runtime's float32 (OpenVINO, ONNX Runtime): the same
    function, with :func:`squeeze_before_last_conv` applied and then, if it rewrote any unit,
    :func:`subsample_before_stride`. Returns the copy and how many units / stage boundaries each rewrote.

    The subsampling is applied only with the early squeeze: in a plain ResNet OpenVINO already skips those
    positions by itself and the explicit slices made it slower, and ONNX Runtime ran it at the same speed
    (docs/performance.md, "CPU runtimes"). An inference copy: keep ``model`` for saving and fine-tuning.
    """
    model, early = squeeze_before_last_conv(model)
    strided = subsample_before_stride(model, inplace=True)[1] if early else 0
    return model, {"squeeze_before_last_conv": early, "subsample_before_stride": strided}
