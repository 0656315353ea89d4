"""Load and save weights safely: ours, Cadene's / timm ``legacy_*``, timm ``seresnet*``, torchvision.

Nothing is ever unpickled: ``.safetensors`` files are read by safetensors and everything else by
``torch.load(weights_only=True)``, which refuses pickled code. The key style is detected from the keys:

- ours = timm ``resnet.py`` = torchvision: ``conv1``, ``layer1.0.se.fc1``, ``fc`` (no renaming);
- Cadene / timm ``legacy_*``: ``layer0.conv1``, ``layer1.0.se_module.fc1``, ``last_linear``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError
from .io import atomic_write, torch_load_safely

_WRAPPERS = ("model", "state_dict", "model_state", "model_state_dict", "module")
_PREFIXES = ("module.", "_orig_mod.")
_CADENE = (("layer0.", ""), ("se_module.", "se."), ("last_linear.", "fc."))


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state_dict from ``.safetensors``/``.pth``/``.pt`` without unpickling code.

    Training checkpoints (``{"model": state_dict, ...}``) and DDP/compile prefixes are unwrapped.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
    else:
        obj = torch_load_safely(path)
    return _unwrap(obj, path)


def _unwrap(obj, path) -> dict[str, torch.Tensor]:
    for _ in range(3):
        if isinstance(obj, Mapping) and not _all_tensors(obj):
            inner = next((obj[k] for k in _WRAPPERS if isinstance(obj.get(k), Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not obj or not _all_tensors(obj):
        raise CheckpointError(f"{path}: holds no state_dict (expected a mapping of names to tensors)")
    out = {}
    for k, v in obj.items():
        for p in _PREFIXES:
            if k.startswith(p):
                k = k[len(p) :]
        out[k] = v
    return out


def _all_tensors(d: Mapping) -> bool:
    return all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in d.items())


def detect_style(state_dict: Mapping[str, torch.Tensor]) -> str:
    """ "cadene" for Cadene/timm-legacy keys (``layer0.``, ``se_module``, ``last_linear``), else "senet"."""
    keys = state_dict.keys()
    if any(k.startswith("layer0.") or ".se_module." in k or k.startswith("last_linear.") for k in keys):
        return "cadene"
    return "senet"


def convert_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a state_dict of any supported style to this package's keys."""
    if detect_style(state_dict) == "senet":
        return dict(state_dict)
    out = {}
    for k, v in state_dict.items():
        for old, new in _CADENE:
            k = k.replace(old, new, 1) if (old != "layer0." or k.startswith(old)) else k
        out[k] = v
    return out


def load_weights(model: nn.Module, checkpoint, strict: bool = True) -> nn.Module:
    """Load ``checkpoint`` (a path or a state_dict) into ``model``; mismatches are named, not guessed."""
    sd = checkpoint if isinstance(checkpoint, Mapping) else load_state_dict_file(checkpoint)
    if detect_style(sd) == "cadene" and not any(".conv3." in k for k in sd):
        # Same keys and shapes as ours, another function: a silent load would give wrong logits.
        raise CheckpointError(
            "Cadene/timm legacy SE-ResNet-18/34 weights are not supported: their basic block has an "
            "extra ReLU after bn2, so they compute another function than senet's se_resnet18/34"
        )
    sd = convert_state_dict(sd)
    own = model.state_dict()
    # BN's num_batches_tracked (PyTorch >= 0.4.1) is absent from older files, e.g. Cadene's 2017 weights;
    # torch itself loads them, keeping the model's counter.
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    shapes = [
        f"{k}: file {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in sd and sd[k].shape != v.shape
    ]
    problems = []
    for what, items in (
        ("missing", missing if strict else []),
        ("unexpected", unexpected if strict else []),
        ("mis-shaped", shapes),
    ):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{len(items)} {what}: {', '.join(items[:5])}{more}")
    if problems:
        name = getattr(model, "model_name", type(model).__name__)
        hint = _hint(model, sd, own)
        raise CheckpointError(f"checkpoint does not fit {name}: {'; '.join(problems)}{hint}")
    on_meta = any(p.is_meta for p in model.parameters())
    model.load_state_dict(sd, strict=strict, assign=on_meta)
    return model


def _hint(model, sd, own) -> str:
    fc = getattr(model, "fc", None)
    if isinstance(fc, nn.Linear) and "fc.weight" in sd and sd["fc.weight"].shape[1] == fc.in_features:
        n = sd["fc.weight"].shape[0]
        if n != fc.out_features:
            return f" (the checkpoint is for {n} classes: pass num_classes={n})"
    return ""


def save_weights(
    model: nn.Module | Mapping[str, torch.Tensor],
    path: str | os.PathLike,
    metadata: dict[str, str] | None = None,
) -> Path:
    """Write a model's weights (or a state_dict) as safetensors, atomically (temp file + rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    sd = model.state_dict() if isinstance(model, nn.Module) else model
    sd = {k: v.detach().cpu().contiguous() for k, v in sd.items()}
    meta = {"format": "pt", **(metadata or {})}
    if isinstance(model, nn.Module) and hasattr(model, "model_name"):
        meta.setdefault("senet_model", model.model_name)
    return atomic_write(path, lambda tmp: save_file(sd, tmp, metadata=meta))
