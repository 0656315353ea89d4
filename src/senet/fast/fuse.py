"""Rewrite the end of each residual unit into one fused step, by reading the unit's ``torch.fx`` graph.

Two patterns, found in the graph of any module whose own ``forward`` traces (its children kept whole):

- ``relu(se(x) + shortcut)`` with ``se`` a :class:`~senet.layers.SqueezeExcitation` (the SE-ResNet unit,
  Fig. 3; also torchvision blocks given SE by ``senet.add_se``) -> ``scale_add_relu(x, se.gate(x),
  shortcut)``: one pass over memory instead of three (``senet.fast.kernels``);
- ``relu(x + shortcut)`` where ``x`` is a fresh tensor of the unit (a conv or BN output used once) ->
  ``x.add_(shortcut).relu_()`` without autograd: no allocation, as timm's ResNet does (plain twins get it
  too, so SE-vs-plain timings stay fair).

The unit is replaced by a ``GraphModule`` holding the same children under the same names, so its state_dict
keys are unchanged. Each pattern computes what it replaces, to float32 round-off.
"""

from __future__ import annotations

import operator

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from ..layers.se import SqueezeExcitation
from .kernels import add_relu, scale_add_relu

_ADDS = (operator.add, torch.add)
_RELU_FUNCTIONS = (F.relu, torch.relu)
_FRESH = (nn.Conv2d, nn.BatchNorm2d, nn.Identity)  # outputs a unit owns (Identity: a folded BN)


def se_scale_add_relu(se: SqueezeExcitation, x: torch.Tensor, shortcut: torch.Tensor) -> torch.Tensor:
    """``relu(se(x) + shortcut)`` as one step: Eq. 4, the residual addition and the ReLU of Fig. 3."""
    return scale_add_relu(x, se.gate(x), shortcut)


class _Shallow(torch.fx.Tracer):
    """Traces one module's own ``forward``, keeping each of its children as a single call.

    ``root`` is optional because unpickling a ``GraphModule`` re-traces its code with a subclass of the
    tracer that built it, constructed without arguments (``torch.save`` of a whole rewritten model)."""

    def __init__(self, root: nn.Module | None = None):
        super().__init__()
        self._children = {id(c) for c in root.children()} if root is not None else set()

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return id(m) in self._children or super().is_leaf_module(m, qualname)


def fuse_residual_steps(model: nn.Module) -> int:
    """Rewrite, in place, every unit of ``model`` that ends in one of the two patterns; returns how many."""
    count = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            fused = _fuse(child)
            if fused is not None:
                setattr(parent, name, fused)
                count += 1
    return count


def _fuse(module: nn.Module) -> nn.Module | None:
    if isinstance(module, nn.Sequential | nn.ModuleList | nn.ModuleDict) or not any(module.children()):
        return None
    try:
        graph = _Shallow(module).trace(module)
    except Exception:  # noqa: BLE001  (a forward that does not trace is left as it is)
        return None
    changed = False
    for node in list(graph.nodes):
        relu_in = _relu_input(module, node)
        if (
            relu_in is None
            or relu_in.target not in _ADDS
            or len(relu_in.users) != 1
            or len(relu_in.args) != 2
        ):
            continue
        a, b = relu_in.args
        for x, shortcut in ((a, b), (b, a)):
            fused = _se_step(module, graph, node, x, shortcut) or _plain_step(
                module, graph, node, x, shortcut
            )
            if fused:
                graph.erase_node(relu_in)
                changed = True
                break
    if not changed:
        return None
    gm = torch.fx.GraphModule(module, graph, class_name=f"Fused{type(module).__name__}")
    gm.graph.eliminate_dead_code()  # the SE call and the addition the fused step replaced
    gm.recompile()
    for name, child in module.named_children():  # keep children the graph no longer calls (state_dict keys)
        if not hasattr(gm, name):
            gm.add_module(name, child)
    return gm


def _relu_input(root: nn.Module, node: torch.fx.Node) -> torch.fx.Node | None:
    """The input node of a ReLU call (module, function or method), else None."""
    if node.op == "call_module" and type(root.get_submodule(node.target)) is nn.ReLU:
        arg = node.args[0]
    elif node.op == "call_function" and node.target in _RELU_FUNCTIONS and not node.kwargs:
        arg = node.args[0]
    elif node.op == "call_method" and node.target in ("relu", "relu_"):
        arg = node.args[0]
    else:
        return None
    return arg if isinstance(arg, torch.fx.Node) and arg.op == "call_function" and not arg.kwargs else None


def _replace(graph, relu: torch.fx.Node, fn, args) -> None:
    with graph.inserting_before(relu):
        new = graph.call_function(fn, args)
    relu.replace_all_uses_with(new)
    graph.erase_node(relu)


def _se_step(root, graph, relu, x, shortcut) -> bool:
    if not (isinstance(x, torch.fx.Node) and x.op == "call_module" and len(x.users) == 1):
        return False
    if type(root.get_submodule(x.target)) is not SqueezeExcitation or len(x.args) != 1:
        return False
    with graph.inserting_before(relu):
        se = graph.get_attr(x.target)
    _replace(graph, relu, se_scale_add_relu, (se, x.args[0], shortcut))
    return True


def _plain_step(root, graph, relu, x, shortcut) -> bool:
    if not _fresh(root, x):
        return False
    _replace(graph, relu, add_relu, (x, shortcut))
    return True


def _fresh(root, node) -> bool:
    """A conv/BN output used only here, i.e. memory this unit may overwrite (Identity: look through)."""
    while isinstance(node, torch.fx.Node) and node.op == "call_module" and len(node.users) == 1:
        m = root.get_submodule(node.target)
        if not isinstance(m, _FRESH):
            return False
        if not isinstance(m, nn.Identity):
            return True
        node = node.args[0]
    return False
