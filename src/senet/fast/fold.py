"""Fold eval-mode BatchNorm into the convolution before it: one pass less over every feature map.

Which BN follows which conv is read from a ``torch.fx`` trace, so any model works: one that does not
trace as a whole is folded piece by piece (each submodule that traces), and what cannot be traced is
left as it is. A BN is folded only when its conv's output feeds nothing else (pre-activation nets reuse
it in the shortcut) and neither module is shared.
"""

from __future__ import annotations

from collections import Counter

import torch
import torch.fx
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fold_conv_bn"]

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def fold_conv_bn(model: nn.Module) -> int:
    """Fold every eval-mode BN that directly follows a conv into that conv, in place; returns the count."""
    shared = {id(m) for m, n in Counter(map(id, model.modules(remove_duplicate=False))).items() if n > 1}
    return _fold(model, shared)


def _fold(module: nn.Module, shared: set[int]) -> int:
    if isinstance(module, _CONVS + _NORMS) or not any(True for _ in module.children()):
        return 0
    traced = _trace(module)
    if traced is None:  # fold what can be folded inside
        return sum(_fold(child, shared) for child in module.children())
    root, graph = traced
    pairs = _conv_bn_pairs(root, graph, shared)
    for conv_name, bn_name in pairs:
        conv, bn = root.get_submodule(conv_name), root.get_submodule(bn_name)
        _set(root, conv_name, fuse_conv_bn_eval(conv, bn))
        _set(root, bn_name, nn.Identity())
    return len(pairs)


def _trace(module: nn.Module) -> tuple[nn.Module, torch.fx.Graph] | None:
    try:
        return module, torch.fx.Tracer().trace(module)
    except Exception:  # noqa: BLE001  (any tracing failure: fall back to the children)
        return None


def _conv_bn_pairs(root: nn.Module, graph: torch.fx.Graph, shared: set[int]) -> list[tuple[str, str]]:
    calls = Counter(n.target for n in graph.nodes if n.op == "call_module")
    pairs = []
    for node in graph.nodes:
        if node.op != "call_module" or len(node.args) != 1 or node.kwargs:
            continue
        prev = node.args[0]
        if not (isinstance(prev, torch.fx.Node) and prev.op == "call_module" and len(prev.users) == 1):
            continue
        conv, bn = root.get_submodule(prev.target), root.get_submodule(node.target)
        if (
            isinstance(conv, _CONVS)
            and isinstance(bn, _NORMS)
            and not bn.training
            and bn.running_mean is not None
            and calls[prev.target] == calls[node.target] == 1
            and id(conv) not in shared
            and id(bn) not in shared
        ):
            pairs.append((prev.target, node.target))
    return pairs


def _set(root: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, leaf, module)
