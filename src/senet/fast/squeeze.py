"""Squeeze before the last conv: the SE gate read from conv3's input, conv3 + BN3 absorbed into ``fc1``.

In the standard SE-ResNet unit (Fig. 3) the block recalibrates ``u = bn3(conv3(y))``: the squeeze (Eq. 2)
is ``z = mean_HW(u)`` and the excitation (Eq. 3) is ``s = sigma(W2 delta(W1 z + b1) + b2)``. When conv3 is
a 1x1 convolution with stride 1, no padding and one group, and BN3 uses its running statistics (eval
mode), ``u = W3' y + b3'`` at every position, with BN3 folded in: ``W3' = diag(g) W3``, ``b3' = g (b3 -
mu) + beta``, ``g = gamma / sqrt(var + eps)``. The spatial mean commutes with that affine map, so

    z = mean(u) = W3' mean(y) + b3'    and    W1 z + b1 = (W1 W3') mean(y) + (W1 b3' + b1).

The gate can therefore be computed from ``mean(y)`` (conv3's input: C/4 channels in a ResNet
bottleneck, C/2 in a ResNeXt 32x4d) by one 1x1 conv ``fc1`` with weight ``W1 W3'`` and bias
``W1 b3' + b1``, computed here in float64. The function is the same to round-off; what changes is the
schedule: the squeeze no longer waits for conv3 + BN3 and no longer reads their output, so a runtime
(OpenVINO, ONNX Runtime) can fuse conv3, BN3, the scale (Eq. 4), the residual addition and the ReLU
without a second pass over ``u``.

:func:`squeeze_before_last_conv` applies it to every unit whose ``torch.fx`` graph computes
``se(bn(conv(y)))`` with ``se`` an average-squeeze :class:`~senet.layers.SqueezeExcitation` and ``conv``
as above (the SE-ResNet/ResNeXt bottlenecks of ``senet.models.resnet`` in the standard placement, timm's
ResNet-D rows and torchvision ResNets given SE by ``senet.add_se`` included). The BN may be absent (the
Inception-ResNet blocks' ``se(up(y))``, a 1x1 conv with a bias) or already folded into its conv
(``nn.Identity``, looked through). Everything else is left as it is: the other placements (SE
on the unit's input, after the addition, on the shortcut, after the 3x3), basic units (conv2 is 3x3),
max and no squeeze, a 1x1 conv with a stride or groups, a module whose ``forward`` does not trace.

The result is an inference copy: the unit becomes a ``GraphModule`` with the same children under the same
names, but its ``se`` is an :class:`EarlySqueezeExcitation` whose ``fc1`` takes conv3's input width (its
weight has another shape, and it always has a bias), so the original's checkpoints do not load into it.
Keep the original model for saving and fine-tuning. The rewritten block refuses to run in train mode
(BN3's batch statistics are not its running ones). Hooks on the rewritten ``se`` modules are not carried
over; hooks on their ``gate_fn`` (the excitation s, Sec. 7.2) are, and still see the same values.
"""

from __future__ import annotations

import copy

import torch
import torch.fx
from torch import nn

from ..errors import SenetError
from ..layers.se import SqueezeExcitation
from .fold import _set
from .fuse import _Shallow

__all__ = ["EarlySqueezeExcitation", "squeeze_before_last_conv"]


class EarlySqueezeExcitation(SqueezeExcitation):
    """``x * s`` with ``s`` the excitation (Eq. 3) of the squeeze (Eq. 2) of ``y``, the input of the
    1x1 conv + BN that produced ``x``: its ``fc1`` holds ``W1 W3'`` and ``W1 b3' + b1`` (module docstring).

    Called as ``se(x, y)``; ``relu``, ``fc2`` and ``gate_fn`` are the original block's modules.
    ``in_channels`` is the width of ``y``; ``channels`` stays C, the width of ``x`` and of the gate.
    """

    def __init__(self, se: SqueezeExcitation, weight: torch.Tensor, bias: torch.Tensor):
        nn.Module.__init__(self)
        self.channels, self.reduction, self.hidden, self.squeeze = se.channels, se.reduction, se.hidden, "avg"
        self.in_channels = weight.shape[1]
        ref = se.fc1.weight
        self.fc1 = nn.Conv2d(self.in_channels, self.hidden, 1, bias=True, device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            self.fc1.weight.copy_(weight.view_as(self.fc1.weight))
            self.fc1.bias.copy_(bias)
        self.fc1.weight.requires_grad_(ref.requires_grad)
        self.fc1.bias.requires_grad_(ref.requires_grad)
        self.relu, self.fc2, self.gate_fn = se.relu, se.fc2, se.gate_fn

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        if self.training:
            raise SenetError(
                "this SE block squeezes before the last conv with BN's running statistics folded in: "
                "it is for inference only (call .eval(), or train the original model)"
            )
        return x * self.gate(y)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, in_channels={self.in_channels}"


def squeeze_before_last_conv(model: nn.Module, inplace: bool = False) -> tuple[nn.Module, int]:
    """An eval-mode copy of ``model`` (``model`` itself if ``inplace``) in which each unit computing
    ``se(bn3(conv3(y)))`` squeezes ``y`` instead, conv3 + BN3 absorbed into the SE block's ``fc1``
    (module docstring: the algebra, what is covered and what is left as it is).

    Returns the model and the number of units rewritten (16 for ``se_resnet50``, 0 for a model without
    such a unit). The same function to round-off, for inference only: see the module docstring.
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    return model, _walk(model)


def _walk(module: nn.Module) -> int:
    count = 0
    for name, child in list(module.named_children()):
        rewritten, n = _rewrite(child)
        if n:
            setattr(module, name, rewritten)
            count += n
        count += _walk(rewritten)
    return count


def _rewrite(module: nn.Module) -> tuple[nn.Module, int]:
    if isinstance(module, nn.Sequential | nn.ModuleList | nn.ModuleDict) or not any(module.children()):
        return module, 0
    if isinstance(module, SqueezeExcitation):
        return module, 0
    try:
        graph = _Shallow(module).trace(module)
    except Exception:  # noqa: BLE001  (a forward that does not trace is left as it is)
        return module, 0
    calls: dict[str, int] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    early = {}
    for node in list(graph.nodes):
        found = _match(module, node, calls)
        if found is None:
            continue
        u, y, se, affine = found
        weight, bias = _fold(se, *affine)
        early[node.target] = EarlySqueezeExcitation(se, weight, bias)
        node.args = (u, y)
    if not early:
        return module, 0
    gm = torch.fx.GraphModule(module, graph, class_name=f"EarlySqueeze{type(module).__name__}")
    for target, se in early.items():
        _set(gm, target, se)
    for name, child in module.named_children():  # keep children the graph does not call (state_dict keys)
        if not hasattr(gm, name):
            gm.add_module(name, child)
    return gm.eval(), len(early)


def _match(root: nn.Module, node: torch.fx.Node, calls: dict[str, int]):
    """``(u, y, se, (conv, bn))`` when ``node`` is ``se(u)``, ``u = bn(conv(y))`` as required, else None."""
    if node.op != "call_module" or len(node.args) != 1 or node.kwargs or calls[node.target] != 1:
        return None
    se = root.get_submodule(node.target)
    if type(se) is not SqueezeExcitation or se.squeeze != "avg":
        return None
    u = prev = node.args[0]
    bn = None
    while _is_module(root, prev, nn.Identity):  # a BN already folded into its conv
        prev = prev.args[0]
    if _is_module(root, prev, nn.BatchNorm2d):
        bn = root.get_submodule(prev.target)
        if bn.training or bn.running_mean is None or bn.running_var is None:
            return None
        prev = prev.args[0]
        while _is_module(root, prev, nn.Identity):
            prev = prev.args[0]
    if not _is_module(root, prev, nn.Conv2d):
        return None
    conv = root.get_submodule(prev.target)
    if not (
        conv.kernel_size == (1, 1)
        and conv.stride == (1, 1)
        and conv.padding in ((0, 0), "valid")
        and conv.groups == 1
        and conv.out_channels == se.fc1.in_channels
        and se.fc1.kernel_size == (1, 1)
        and se.fc1.groups == 1
    ):
        return None
    y = prev.args[0]
    if isinstance(y, torch.fx.Node) and len(y.users) != 1:  # nothing else may see (or change) y in between
        return None
    return u, y, se, (conv, bn)


def _is_module(root: nn.Module, node, kind: type) -> bool:
    """``node`` is a one-argument call of a ``kind`` module (exactly that class)."""
    return (
        isinstance(node, torch.fx.Node)
        and node.op == "call_module"
        and len(node.args) == 1
        and not node.kwargs
        and type(root.get_submodule(node.target)) is kind
    )


def _fold(
    se: SqueezeExcitation, conv: nn.Conv2d, bn: nn.BatchNorm2d | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``W1 W3'`` and ``W1 b3' + b1`` in float64 (W3', b3': conv3 with BN3 folded in)."""
    f64 = dict(dtype=torch.float64)
    w3 = conv.weight.detach().to(**f64).flatten(1)  # C x C_in
    b3 = conv.bias.detach().to(**f64) if conv.bias is not None else w3.new_zeros(w3.shape[0])
    if bn is not None:
        g = (bn.running_var.detach().to(**f64) + bn.eps).rsqrt()
        if bn.weight is not None:
            g = g * bn.weight.detach().to(**f64)
        b3 = (b3 - bn.running_mean.detach().to(**f64)) * g
        if bn.bias is not None:
            b3 = b3 + bn.bias.detach().to(**f64)
        w3 = w3 * g[:, None]
    w1 = se.fc1.weight.detach().to(**f64).flatten(1)  # hidden x C
    b1 = se.fc1.bias.detach().to(**f64) if se.fc1.bias is not None else w1.new_zeros(w1.shape[0])
    return w1 @ w3, w1 @ b3 + b1
