"""Subsample before the stride: the last unit of a stage computes its output only where the next one reads.

In the official layout of the released SE-ResNets (``layout="official"``: ``resnet50``, ``se_resnet50``,
...), the first unit of stages 3-5 (``layer2`` .. ``layer4``) reads its input ``x`` only through 1x1 convs
with stride 2 and no padding: ``conv1`` and the projection shortcut ``downsample[0]``. Such a conv reads
``x`` at the even positions only, ``conv_s2(x) = conv_s1(x[:, :, ::2, ::2])``, with ``ceil(H / 2)`` rows
either way (odd sizes included). The last unit of the stage before ends in operations that act on each
position by itself once its last 1x1 conv is done:

    plain:        out = relu(bn3(conv3(y)) + shortcut)
    early SE:     out = relu(se(bn3(conv3(y)), y) + shortcut),    se(u, y) = u * s(y)

``conv3`` (1x1, stride 1, no padding, any groups) and BN3 with its running statistics are per-position
affine maps, and the scale (Eq. 4) multiplies each channel by one gate ``s`` per image, so
``out[:, :, ::2, ::2]`` is the same expression with ``y`` and ``shortcut`` subsampled first. The unit can
therefore run conv3, BN3, the scale, the residual addition and the ReLU on a quarter of the positions, and
the next unit's two convs take stride 1: the same function, less work. OpenVINO's StridesOptimization
pass does this by itself for a plain ResNet but not through an SE block: the squeeze (Eq. 2) of the
standard unit (Fig. 3) is a mean over every position of ``bn3(conv3(y))``, which is why the SE unit must
first be in the early form of :func:`senet.fast.squeeze_before_last_conv`, whose gate (Eq. 3) is computed
from ``mean(y)``, conv3's input, and so still sees the whole map.

:func:`subsample_before_stride` applies it to each pair of units ``(last, next)``, found by reading
``torch.fx`` graphs (each module's own ``forward``, children kept whole): consecutive children of an
``nn.Sequential`` and children chained in another module's ``forward`` (the stages ``layer1`` ..
``layer4`` of a ResNet), the ``last`` / first unit of a nested ``nn.Sequential`` taken, when

- ``last``'s output is read by ``next`` only (in the graph, and no forward hook on ``last`` or on a
  stage it ends; no forward pre-hook on ``next`` or on a stage it starts), and ``last``'s graph ends as
  above: an addition whose one operand comes from a 1x1 conv through per-position steps only (BN in eval
  mode, ``nn.Identity``, stochastic depth, an ``EarlySqueezeExcitation``), followed by activations;
- ``next`` reads its input only through 1x1, stride-2, unpadded ``nn.Conv2d`` modules, called directly or
  as the first module of an ``nn.Sequential`` (the projection shortcut), used nowhere else.

Everything else is left as it is, counted 0: the torchvision layout and the (SE-)ResNeXt rows (stride on
the 3x3, whose reads overlap), ResNet-D projections (an average pool reads every position), SE units whose
squeeze reads conv3's output (apply :func:`~senet.fast.squeeze_before_last_conv` first), the other SE
placements and basic units, already fused units (apply this before ``optimize_for_inference``), a module
whose ``forward`` does not trace.

The result is an inference copy (``model`` itself if ``inplace``): ``last`` becomes a ``GraphModule``
with the same children under the same names plus a parameter-free ``subsample`` (``x[:, :, ::2, ::2]``),
and ``next``'s strided convs take stride 1, so the state_dict keys and tensors are unchanged. The
rewritten unit refuses to run in train mode (BN3 would normalise with the statistics of a quarter of the
positions). A stage that ends in a rewritten unit returns its map subsampled: feature extraction
(``forward_intermediates``, hooks on the stages) sees those maps; keep the original model for features,
saving and fine-tuning.
"""

from __future__ import annotations

import copy
import operator
import sys
from collections import Counter

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from ..errors import SenetError
from ..layers.se import SqueezeExcitation
from .fold import _set
from .fuse import _Shallow
from .squeeze import EarlySqueezeExcitation

__all__ = ["Subsample", "subsample_before_stride"]

_ADDS = (operator.add, operator.iadd, torch.add)
_ACTS = (nn.ReLU, nn.SiLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.Hardswish, nn.Identity)
_ACT_FUNCTIONS = (F.relu, torch.relu, F.silu)
_ACT_METHODS = ("relu", "relu_")
_OPAQUE = (SqueezeExcitation, nn.ModuleList, nn.ModuleDict)  # not traced for chained children
NAME = "subsample"  # the child that the rewritten unit calls


class Subsample(nn.Module):
    """``x[:, :, ::2, ::2]``: what a 1x1, stride-2, unpadded conv reads (``ceil(H / 2)`` rows). Inference only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            raise SenetError(
                "this unit computes its output only where the next unit's stride-2 convs read it, with BN's "
                "running statistics: it is for inference only (call .eval(), or train the original model)"
            )
        return x[:, :, ::2, ::2]


def subsample_before_stride(model: nn.Module, inplace: bool = False) -> tuple[nn.Module, int]:
    """An eval-mode copy of ``model`` (``model`` itself if ``inplace``) in which each unit followed by a
    unit that reads it only through 1x1 stride-2 convs computes its end on the even positions only, and
    those convs take stride 1 (module docstring: the algebra, what is covered and what is left).

    Returns the model and the number of unit pairs rewritten (3 for ``resnet50`` in the official layout,
    and for ``se_resnet50`` once in the early form of :func:`~senet.fast.squeeze_before_last_conv`; 0 in
    the torchvision layout). The same function to round-off, for inference only.
    """
    if not inplace:
        model = copy.deepcopy(model)
    model.eval()
    held = [m for _, m in model.named_modules(remove_duplicate=False)]  # alive: their ids stay theirs
    uses = Counter(map(id, held))
    count = 0
    for last, first in _pairs(model):
        if _hooked(model, last, "_forward_hooks") or _hooked(model, first, "_forward_pre_hooks"):
            continue
        unit, nxt = model.get_submodule(last[-1]), model.get_submodule(first[-1])
        convs = _strided_readers(nxt)
        if convs is None or any(uses.get(id(m), 1) != 1 for m in (unit, nxt, *convs)):
            continue
        rewritten = _subsample_end(unit)
        if rewritten is None:
            continue
        for conv in convs:
            conv.stride = (1, 1)
        _set(model, last[-1], rewritten)
        count += 1
    return model, count


def _pairs(model: nn.Module) -> list[tuple[list[str], list[str]]]:
    """``(last, first)`` for each pair of units where ``last``'s output is read by ``first`` only: each a
    list of paths, the outermost module first (the stages that ``last`` ends / ``first`` starts, then the
    unit)."""
    found = []
    for path, module in model.named_modules():
        if isinstance(module, nn.Sequential):
            names = [name for name, _ in module.named_children()]
            chained = list(zip(names, names[1:]))
        elif isinstance(module, _OPAQUE) or not _has_children(module):
            continue
        else:
            chained = _chained(module)
        prefix = f"{path}." if path else ""
        for a, b in chained:
            last, first = _descend(module, a, -1, prefix), _descend(module, b, 0, prefix)
            if last and first:
                found.append((last, first))
    return found


def _chained(module: nn.Module) -> list[tuple[str, str]]:
    """Children ``(a, b)`` that ``module``'s ``forward`` calls once each as ``b(a(...))``, ``a``'s output
    read by nothing else."""
    try:
        graph = _Shallow(module).trace(module)
    except Exception:  # noqa: BLE001  (a forward that does not trace is left as it is)
        return []
    calls = Counter(n.target for n in graph.nodes if n.op == "call_module")
    return [
        (node.target, user.target)
        for node in graph.nodes
        if node.op == "call_module" and calls[node.target] == 1 and len(node.users) == 1
        for user in node.users
        if user.op == "call_module" and calls[user.target] == 1 and user.args == (node,) and not user.kwargs
    ]


def _descend(root: nn.Module, name: str, end: int, prefix: str) -> list[str] | None:
    """The paths from ``root.name`` down to the unit at its ``end`` (-1: last, 0: first) through nested
    ``nn.Sequential`` modules; None when that unit has no children (a layer, not a unit)."""
    paths, module = [name], root.get_submodule(name)
    while isinstance(module, nn.Sequential):
        children = list(module.named_children())
        if not children:
            return None
        child, module = children[end]
        paths.append(f"{paths[-1]}.{child}")
    return [prefix + p for p in paths] if _has_children(module) else None


def _has_children(module: nn.Module) -> bool:
    return any(True for _ in module.children())


def _hooked(model: nn.Module, paths: list[str], kind: str) -> bool:
    return any(getattr(model.get_submodule(p), kind) for p in paths)


def _strided_readers(unit: nn.Module) -> list[nn.Conv2d] | None:
    """The 1x1 stride-2 unpadded convs through which ``unit`` reads its input, when it reads it only so."""
    try:
        graph = _Shallow(unit).trace(unit)
    except Exception:  # noqa: BLE001
        return None
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    if len(inputs) != 1 or not inputs[0].users:
        return None
    calls = Counter(n.target for n in graph.nodes if n.op == "call_module")
    convs = []
    for user in inputs[0].users:
        if user.op != "call_module" or user.args != (inputs[0],) or user.kwargs or calls[user.target] != 1:
            return None
        module = unit.get_submodule(user.target)
        if isinstance(module, nn.Sequential) and len(module):
            module = module[0]
        if not _pointwise_conv(module, (2, 2)):
            return None
        convs.append(module)
    return convs


def _subsample_end(unit: nn.Module) -> torch.fx.GraphModule | None:
    """``unit`` as a ``GraphModule`` computing its output at the even positions only, or None when its
    graph does not end as the module docstring says."""
    if hasattr(unit, NAME):
        return None
    try:
        graph = _Shallow(unit).trace(unit)
    except Exception:  # noqa: BLE001
        return None
    output = next(n for n in graph.nodes if n.op == "output")
    add = output.args[0]
    while isinstance(add, torch.fx.Node) and len(add.users) == 1 and _is_activation(unit, add):
        add = add.args[0]
    if not (
        isinstance(add, torch.fx.Node)
        and add.op == "call_function"
        and add.target in _ADDS
        and len(add.users) == 1
        and len(add.args) == 2
        and not add.kwargs
        and all(isinstance(a, torch.fx.Node) for a in add.args)
    ):
        return None
    for branch, shortcut in (add.args, add.args[::-1]):
        conv = _last_conv(unit, branch)
        if conv is not None and shortcut is not branch:
            break
    else:
        return None
    with graph.inserting_before(conv):
        conv.args = (graph.call_module(NAME, (conv.args[0],)),)
    with graph.inserting_before(add):
        cut = graph.call_module(NAME, (shortcut,))
    add.args = tuple(cut if a is shortcut else a for a in add.args)
    unit.add_module(NAME, Subsample())
    gm = torch.fx.GraphModule(unit, graph, class_name=f"Subsampled{type(unit).__name__}")
    for name, child in unit.named_children():  # keep children the graph does not call (state_dict keys)
        if not hasattr(gm, name):
            gm.add_module(name, child)
    delattr(unit, NAME)  # ``unit`` itself is left as it was
    return gm.eval()


def _is_activation(root: nn.Module, node: torch.fx.Node) -> bool:
    """An element-wise step of one tensor: ``act(add)`` after the residual addition."""
    if len(node.args) < 1 or not isinstance(node.args[0], torch.fx.Node):
        return False
    if any(isinstance(a, torch.fx.Node) for a in (*node.args[1:], *node.kwargs.values())):
        return False
    if node.op == "call_module":
        return len(node.args) == 1 and not node.kwargs and type(root.get_submodule(node.target)) in _ACTS
    return (node.op == "call_function" and node.target in _ACT_FUNCTIONS) or (
        node.op == "call_method" and node.target in _ACT_METHODS
    )


def _last_conv(root: nn.Module, node: torch.fx.Node) -> torch.fx.Node | None:
    """The 1x1 stride-1 unpadded conv that ``node`` comes from through per-position steps used once each
    (BN with running statistics, Identity, stochastic depth, the early-squeeze scale ``se(u, y)``)."""
    while isinstance(node, torch.fx.Node) and node.op == "call_module" and len(node.users) == 1:
        module = root.get_submodule(node.target)
        if node.kwargs or not node.args or not isinstance(node.args[0], torch.fx.Node):
            return None
        if type(module) is nn.Conv2d:
            return node if _pointwise_conv(module, (1, 1)) and len(node.args) == 1 else None
        if type(module) is EarlySqueezeExcitation:
            if len(node.args) != 2 or node.args[0] is node.args[1]:
                return None
        elif len(node.args) != 1 or not _per_position(module):
            return None
        node = node.args[0]
    return None


def _pointwise_conv(module: nn.Module, stride: tuple[int, int]) -> bool:
    """A 1x1 unpadded ``nn.Conv2d`` (any groups) with ``stride``: one position of its input per output."""
    return (
        type(module) is nn.Conv2d
        and module.kernel_size == (1, 1)
        and module.stride == stride
        and module.padding in ((0, 0), "valid")
    )


def _per_position(module: nn.Module) -> bool:
    if type(module) is nn.BatchNorm2d:
        return not module.training and module.running_mean is not None and module.running_var is not None
    depth = getattr(sys.modules.get("torchvision.ops"), "StochasticDepth", None)  # imported if in the model
    return type(module) is nn.Identity or (depth is not None and type(module) is depth)
