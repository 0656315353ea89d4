"""Today's training pieces, from PyTorch and torchvision (not written again), each a recipe field that is
off by default: AdamW/RMSprop, no weight decay on BN and biases, gradient-norm clipping, MixUp/CutMix, an
EMA of the weights. With every field at its default the optimiser is the one the paper's recipes always
built (one SGD parameter group), so those recipes train as before.
"""

from __future__ import annotations

import torch
from torch import nn

from .recipes import Recipe


def make_optimizer(model: nn.Module, recipe: Recipe, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov), AdamW or RMSprop; with ``norm_weight_decay`` set, BN weights and every bias
    in a second group with that decay (torchvision's ``--norm-weight-decay``)."""
    if recipe.norm_weight_decay is None:
        groups = [{"params": list(model.parameters()), "weight_decay": weight_decay}]
    else:
        norm, rest = split_norm_and_bias(model)
        groups = [{"params": rest, "weight_decay": weight_decay}]
        groups += [{"params": norm, "weight_decay": recipe.norm_weight_decay}] if norm else []
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    if recipe.optimizer == "rmsprop":  # as the MobileNet/EfficientNet recipes: alpha 0.9, eps 0.0316
        return torch.optim.RMSprop(groups, lr=lr, alpha=0.9, eps=0.0316, momentum=recipe.momentum)
    if recipe.norm_weight_decay is None:  # the paper's recipes: exactly the optimiser they always had
        return torch.optim.SGD(
            model.parameters(),
            lr=lr,
            momentum=recipe.momentum,
            nesterov=recipe.nesterov,
            weight_decay=weight_decay,
        )
    return torch.optim.SGD(groups, lr=lr, momentum=recipe.momentum, nesterov=recipe.nesterov)


def split_norm_and_bias(model: nn.Module) -> tuple[list, list]:
    """(BatchNorm/GroupNorm weights and all biases, every other parameter)."""
    norm_types = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)
    norm, rest = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            (norm if isinstance(module, norm_types) or name == "bias" else rest).append(p)
    return norm, rest


def batch_mixer(recipe: Recipe, num_classes: int):
    """torchvision's MixUp and/or CutMix on a batch (one of them per batch when both are on), or None."""
    if not recipe.mixup_alpha and not recipe.cutmix_alpha:
        return None
    from torchvision.transforms import v2

    parts = [v2.MixUp(alpha=recipe.mixup_alpha, num_classes=num_classes)] if recipe.mixup_alpha else []
    parts += [v2.CutMix(alpha=recipe.cutmix_alpha, num_classes=num_classes)] if recipe.cutmix_alpha else []
    return parts[0] if len(parts) == 1 else v2.RandomChoice(parts)


def ema_model(model: nn.Module, decay: float):
    """``torch.optim.swa_utils.AveragedModel`` with the EMA function, buffers (BN statistics) averaged too;
    the first update copies the weights. None when ``decay`` is 0."""
    if not decay:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def clip_gradients(optimizer: torch.optim.Optimizer, scaler, max_norm: float) -> None:
    """Clip the global gradient norm (after unscaling fp16 gradients) to ``max_norm``."""
    scaler.unscale_(optimizer)
    params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
    torch.nn.utils.clip_grad_norm_(params, max_norm)
