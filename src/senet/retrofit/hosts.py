"""Attach an SE block after a module's output without renaming a single existing state_dict key.

Three ways, picked per place by :func:`attach` (the module returning the recalibrated tensor is the *host*):

- ``append``: the host is a plain ``nn.Sequential`` (or a subclass keeping its forward): the block becomes
  its last child ``se``;
- ``wrap``: the host is a parameter-free layer (a VGG ReLU): it is replaced by :class:`SEAfter`, which
  holds it as ``fn`` (no keys) and the block as ``se``;
- ``swap``: the host has its own ``forward`` (an Inception module, a DenseNet layer, a MobileNet block):
  its class becomes a subclass that applies ``self.se`` to the output, as ``add_se`` does for torchvision
  ResNet blocks. The subclass pickles and deep-copies (by its base class), and ``torch.fx`` traces into it.

Every block's keys are ``<host>.se.*``; the original keys stay as they were, so weights trained without
SE still load by key. No hooks: ``torch.fx``, ``torch.export`` and ONNX see the blocks.
"""

from __future__ import annotations

import torch.fx
from torch import nn

from ..errors import SenetError

_CONTAINERS = (nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)


class SEAfter(nn.Module):
    """A parameter-free layer ``fn`` followed by an SE block (the ``wrap`` host, e.g. SE-VGG's ReLU)."""

    def __init__(self, fn: nn.Module, se: nn.Module):
        super().__init__()
        self.fn, self.se = fn, se

    def forward(self, *args, **kwargs):
        return self.se(self.fn(*args, **kwargs))


class _SEOutput:
    """Mixin of a swapped host: the base class's forward, then ``self.se`` (the paper's F_scale, Eq. 4)."""

    _se_base: type = object

    def forward(self, *args, **kwargs):
        return self.se(super().forward(*args, **kwargs))

    def __reduce_ex__(self, protocol):
        return _rebuild, (self._se_base,), self.__dict__.copy()

    def _get_name(self) -> str:
        return f"{self._se_base.__name__}+SE"


_SWAPPED: dict[type, type] = {}


def swapped_class(base: type) -> type:
    """The SE-output subclass of ``base`` (one per base class)."""
    if base not in _SWAPPED:
        cls = type(f"{base.__name__}WithSE", (_SEOutput, base), {"_se_base": base})
        cls.__module__ = __name__
        _SWAPPED[base] = cls
    return _SWAPPED[base]


def _rebuild(base: type) -> nn.Module:
    cls = swapped_class(base)
    return cls.__new__(cls)


def _is_leaf(m: nn.Module, path: str) -> bool:
    return torch.fx.Tracer().is_leaf_module(m, path)


def _plain_sequential(m: nn.Module) -> bool:
    return isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward


def _stateless(m: nn.Module) -> bool:
    return not any(True for _ in m.parameters()) and not any(True for _ in m.buffers())


def choose(model: nn.Module, hosts: list[str]) -> tuple[str, str] | None:
    """(way, host path) for a place returned by ``hosts`` (innermost first), or None when none can hold it."""
    for path in hosts:  # first the ways that keep every class as it is
        m = model.get_submodule(path)
        if _plain_sequential(m) and "se" not in m._modules:
            return "append", path
        if _is_leaf(m, path) and _stateless(m) and path:
            return "wrap", path
    for path in hosts:
        m = model.get_submodule(path)
        if path and not _is_leaf(m, path) and not isinstance(m, (nn.Sequential, *_CONTAINERS)):
            if not hasattr(m, "se"):
                return "swap", path
    return None


def attach(model: nn.Module, way: str, path: str, se: nn.Module) -> str:
    """Put ``se`` after the host at ``path`` in the given way; returns the block's module path."""
    host = model.get_submodule(path)
    if way == "append":
        host.add_module("se", se)
    elif way == "wrap":
        parent, _, leaf = path.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, leaf, SEAfter(host, se))
    elif way == "swap":
        host.se = se
        host.__class__ = swapped_class(type(host))
    else:
        raise SenetError(f"unknown way {way!r}")
    return f"{path}.se"
