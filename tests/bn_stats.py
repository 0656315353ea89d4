"""Non-trivial BN statistics for parity tests of rewrites that fold or move BN (senet.fast): a fresh BN is
the identity and would hide a folding mistake."""

import torch
from torch import nn


def randomize_bn(model: nn.Module) -> nn.Module:
    """``model`` with random BN running statistics and affine terms (in place; its train/eval mode kept).

    Each BN's gain weight / sqrt(var) stays within (0.35, 1): with gains up to 2, a random 150-layer net
    is so ill-conditioned that a relative input change of 1e-15 moves its float64 logits by 2%, and no
    parity test can tell round-off from a bug. Here both stay near 1e-15 for every model.
    """
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 1.0)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model
