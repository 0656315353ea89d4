"""Feature maps of every family, in timm's shape of API: ``features_only``, ``feature_info``,
``forward_intermediates``; and gradient checkpointing of the feature modules.

A classifier's features are its modules before the head, run one after the other (``Classifier.features``).
The *feature path* is that sequence with every ``nn.Sequential`` that changes resolution more than once
opened up (BN-Inception's ``inception``, MobileNet's ``blocks``, Inception-ResNet-v2's ``stem``), so that
each resolution has a module that ends it. A *feature point* is the last module of the path at each
stride (found by running the path once on the meta device: nothing is allocated). For a ResNet these are
the stem's ReLU (stride 2) and ``layer1``..``layer4`` (4, 8, 16, 32), as timm's; for VGG the pooled output
of each stage; for the CIFAR nets their three stages (1, 2, 4) and, for the pre-activation nets, the final
BN-ReLU.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..errors import SenetError

HEAD = ("global_pool", "pre_logits", "drop", "fc")  # a classifier's head modules, in this order, always last


class FeatureInfo(list):
    """One dict per feature point: ``num_chs``, ``reduction`` (stride) and ``module`` (its path), with
    timm's accessors ``channels()``, ``reduction()`` and ``module_name()``."""

    def channels(self, idx=None):
        return self._get("num_chs", idx)

    def reduction(self, idx=None):
        return self._get("reduction", idx)

    def module_name(self, idx=None):
        return self._get("module", idx)

    def _get(self, key, idx):
        if idx is None:
            return [f[key] for f in self]
        if isinstance(idx, int):
            return self[idx][key]
        return [self[i][key] for i in idx]


def feature_points(model: nn.Module) -> tuple[list[tuple[str, nn.Module]], FeatureInfo, list[int]]:
    """The feature path ``(path, module)``, the info of each feature point, and each point's index on the
    path. Shapes come from a twin of the model on the meta device (nothing is allocated, nothing of the
    model runs); the result is kept on the model."""
    cached = model.__dict__.get("_feature_points")
    if cached is not None:
        return cached
    twin = _meta_twin(model)
    size = _probe_size(model)
    names, strides, chans = [], [], []
    x = torch.empty(1, model.in_chans, size, size, device="meta")

    def walk(prefix: str, module: nn.Module, x):
        if isinstance(module, nn.Sequential) and len(module) > 1:
            sizes, y = [x.shape[-1]], x
            for child in module:
                y = child(y)
                sizes.append(y.shape[-1])
            if len(set(sizes)) > 2:  # more than one change of resolution inside: open it up
                for name, child in module.named_children():
                    x = walk(f"{prefix}{name}.", child, x)
                return x
        x = module(x)
        names.append(prefix[:-1])
        strides.append(2 ** round(math.log2(size / x.shape[-1])))  # nominal: 299 -> 35 is stride 8
        chans.append(x.shape[1])
        return x

    with torch.no_grad():
        for name, module in _feature_children(twin):
            x = walk(f"{name}.", module, x)
    ends = [i for i in range(len(names)) if i == len(names) - 1 or strides[i + 1] != strides[i]]
    info = FeatureInfo(
        {"num_chs": chans[i], "reduction": strides[i], "module": names[i], "index": k}
        for k, i in enumerate(ends)
    )
    result = ([(n, model.get_submodule(n)) for n in names], info, ends)
    model.__dict__["_feature_points"] = result
    return result


def _feature_children(model):
    for name, module in model.named_children():
        if name in HEAD:
            return
        yield name, module


def _meta_twin(model: nn.Module) -> nn.Module:
    """The same network on the meta device: the model itself if it is there, else a copy whose parameters
    and buffers are meta tensors of the same shapes (``deepcopy`` with those tensors in its memo: nothing
    of the weights is copied or allocated)."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.is_meta for t in tensors):
        return model
    memo = {}
    for t in tensors:
        meta = torch.empty_like(t, device="meta")
        memo[id(t)] = (
            nn.Parameter(meta, requires_grad=t.requires_grad) if isinstance(t, nn.Parameter) else meta
        )
    return copy.deepcopy(model, memo)


def _probe_size(model) -> int:
    """The model's own input size (strides are exact there; the smallest inputs round some of them), as
    ``create_model`` records it in ``model.default_cfg`` (224 for a model of unknown origin)."""
    return tuple((getattr(model, "default_cfg", None) or {}).get("input_size", (3, 224, 224)))[-1]


def _indices(indices, n: int) -> list[int]:
    """timm's convention: an int takes the last ``indices`` points; a sequence names them (negative from
    the end)."""
    if indices is None:
        return list(range(n))
    if isinstance(indices, list | tuple) and not indices:
        raise SenetError(f"feature indices must name at least one of the {n} maps, got {list(indices)}")
    if isinstance(indices, int) and not isinstance(indices, bool):
        if not 1 <= indices <= n:
            raise SenetError(f"indices={indices}: this model has {n} feature maps (1..{n})")
        return list(range(n - indices, n))
    out = []
    for i in indices:
        if not isinstance(i, int) or isinstance(i, bool) or not -n <= i < n:
            raise SenetError(
                f"feature index {i!r} out of range: this model has {n} feature maps (0..{n - 1})"
            )
        out.append(i % n)
    if sorted(set(out)) != out:
        raise SenetError(f"feature indices {list(indices)} must be increasing and distinct")
    return out


class FeatureNet(nn.Module):
    """The classifier's feature modules without the head; ``forward`` returns the chosen maps (a list,
    shallow to deep). State-dict keys are the classifier's (minus the head), so its weights load."""

    def __init__(self, model: nn.Module, out_indices=None):
        super().__init__()
        path, info, ends = feature_points(model)
        chosen = _indices(out_indices, len(info))
        needed = {p.split(".")[0] for p, _ in path[: ends[chosen[-1]] + 1]}
        for name, module in _feature_children(model):  # nothing after the deepest chosen map is kept
            if name in needed:
                self.add_module(name, module)
        self.model_name = getattr(model, "model_name", None)
        self.in_chans = model.in_chans
        self.default_cfg = getattr(model, "default_cfg", {})
        self.feature_info = FeatureInfo(info[i] for i in chosen)
        self._path = [p for p, _ in path[: ends[chosen[-1]] + 1]]  # nothing after the deepest map is run
        self._take = {ends[i] for i in chosen}
        self.grad_checkpointing = False

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        self.grad_checkpointing = enable

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for i, p in enumerate(self._path):
            module = self.get_submodule(p)
            x = _run(module, x, self.grad_checkpointing and self.training)
            if i in self._take:
                out.append(x)
        return out


def _run(module: nn.Module, x: torch.Tensor, ckpt: bool) -> torch.Tensor:
    """A feature module, a stage (``nn.Sequential``) under activation checkpointing if asked: segment by
    segment, each unit (or layer) with the in-place activations that follow it, so that no checkpointed
    segment writes into its own saved input. Stem layers outside a stage run as they are (cheap)."""
    if not ckpt or not torch.is_grad_enabled() or not isinstance(module, nn.Sequential):
        return module(x)
    segments: list[list[nn.Module]] = []
    for unit in module:
        if segments and getattr(unit, "inplace", False):
            segments[-1].append(unit)
        else:
            segments.append([unit])
    for seg in segments:
        x = checkpoint(_chain, x, *seg, use_reentrant=False, context_fn=functools.partial(_contexts, seg))
    return x


def _contexts(segment):
    """Forward as usual; the recomputation in the backward pass without updating BatchNorm's running
    statistics (it normalises with the same batch statistics, so its outputs and gradients are the same)."""
    return contextlib.nullcontext(), _no_running_stats(segment)


@contextlib.contextmanager
def _no_running_stats(segment):
    """Momentum 0 leaves the running statistics as they are (the same computation, so autograd saves the
    same tensors); the batch counter is put back afterwards."""
    bns = [m for unit in segment for m in unit.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [
        (m.momentum, m.num_batches_tracked.clone() if m.num_batches_tracked is not None else None)
        for m in bns
    ]
    for m in bns:
        m.momentum = 0.0
    try:
        yield
    finally:
        for m, (momentum, count) in zip(bns, saved):
            m.momentum = momentum
            if count is not None:
                m.num_batches_tracked.copy_(count)


def _chain(x, *modules):
    for m in modules:
        x = m(x)
    return x


def forward_intermediates(model, x: torch.Tensor, indices=None, intermediates_only: bool = False):
    """timm's ``forward_intermediates``: the final features and the maps at ``indices`` (feature points;
    an int takes the last ``indices``)."""
    path, info, ends = feature_points(model)
    chosen = {ends[i] for i in _indices(indices, len(info))}
    maps = []
    for i, (_, module) in enumerate(path):
        x = _run(module, x, getattr(model, "grad_checkpointing", False) and model.training)
        if i in chosen:
            maps.append(x)
    return maps if intermediates_only else (x, maps)
