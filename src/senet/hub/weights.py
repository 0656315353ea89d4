"""Load and save weights safely: ours, Cadene's / timm ``legacy_*``, timm ``seresnet*``, torchvision.

Nothing is ever unpickled: ``.safetensors`` files are read by safetensors and everything else by
``torch.load(weights_only=True)``, which refuses pickled code. The key style is detected from the keys:

- ours = timm ``resnet.py`` = torchvision: ``conv1``, ``layer1.0.se.fc1``, ``fc`` (no renaming);
- Cadene / timm ``legacy_*``: ``layer0.conv1``, ``layer1.0.se_module.fc1``, ``last_linear``;
- timm ``byobnet.py`` (its ``ts`` networks, ``seresnext26ts``, ``seresnet33ts``): ``stem.conv1.conv``,
  ``stages.0.0.conv1_1x1.conv``, ``.attn.fc1``, ``.shortcut.conv``, ``final_conv.conv``, ``head.fc``.

One renaming depends on the model the file goes into: timm's ``resnet.py`` deep stem (``conv1.0`` ..
``conv1.6``, ``bn1``: its ``senet154``, GluonCV's weights) becomes SENet-154's ``conv1``..``conv3``,
``bn1``..``bn3`` when the model has those (senet's ResNet-D rows keep timm's stem keys as they are).

Every file senet writes says what it holds (a *card*: model name, the options it was built with such as
``layout`` and the SE knobs, the number and names of classes): safetensors metadata, or ``"card"`` in a
training checkpoint. Loading checks the card against the model it goes into and refuses a mismatch with
the option to pass, since a model with other SE options or another layout has the same keys and shapes
and would compute something else. A file without a card in senet's key style comes from timm or
torchvision, whose ResNets have the torchvision layout. Non-float weights and NaN/inf are refused.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..core.io import atomic_write, torch_load_safely
from ..errors import CheckpointError, SenetError, SenetTypeError

_WRAPPERS = ("model", "state_dict", "model_state", "model_state_dict", "module")
_PREFIXES = ("module.", "_orig_mod.")
_CADENE = (("layer0.", ""), ("se_module.", "se."), ("last_linear.", "fc."))
# timm's byobnet ConvNormAct (conv, bn with its act inside) -> senet's torchvision-style names
_BYOB_TOP = (
    ("stem.conv1.conv.", "conv1.0."),
    ("stem.conv1.bn.", "conv1.1."),
    ("stem.conv2.conv.", "conv1.3."),
    ("stem.conv2.bn.", "conv1.4."),
    ("stem.conv3.conv.", "conv1.6."),
    ("stem.conv3.bn.", "bn1."),
    ("final_conv.conv.", "final_conv.0."),
    ("final_conv.bn.", "final_conv.1."),
    ("head.fc.", "fc."),
)
_BYOB_UNIT = (
    ("conv1_1x1.conv.", "conv1."),
    ("conv1_1x1.bn.", "bn1."),
    ("conv2_kxk.conv.", "conv2."),
    ("conv2_kxk.bn.", "bn2."),
    ("conv3_1x1.conv.", "conv3."),
    ("conv3_1x1.bn.", "bn3."),
    ("attn.", "se."),
    ("shortcut.conv.", "downsample.0."),
    ("shortcut.bn.", "downsample.1."),
)
_BYOB_STAGE = re.compile(r"stages\.(\d+)\.(\d+)\.(.*)")
# timm's resnet.py deep stem -> SENet-154's (the first matching prefix renames a key)
_DEEP_STEM = (
    ("conv1.0.", "conv1."),
    ("conv1.1.", "bn1."),
    ("conv1.3.", "conv2."),
    ("conv1.4.", "bn2."),
    ("conv1.6.", "conv3."),
    ("bn1.", "bn3."),
)


def load_state_dict_file(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state_dict from ``.safetensors``/``.pth``/``.pt`` without unpickling code.

    Training checkpoints (``{"model": state_dict, ...}``) and DDP/compile prefixes are unwrapped.
    """
    return read_weights(path)[0]


def read_weights(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The state_dict of a file and its card (None for a file that senet did not write)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist or is not a file")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path))
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
        return _unwrap(obj, path), card_from_metadata(meta, path)
    obj = torch_load_safely(path)
    return _unwrap(obj, path), _card_from_checkpoint(obj, path)


# ---- cards: what a file holds ---------------------------------------------------------------------------
def revision(model: nn.Module) -> int:
    """The revision of the model's definition (``ModelInfo.revision``), which ``create_model`` records in
    ``model.default_cfg``: the card reads it from the model, so this module needs no registry."""
    return int((getattr(model, "default_cfg", None) or {}).get("revision", 1))


def model_card(model: nn.Module, classes: list[str] | None = None) -> dict:
    """What a senet model is: its name, the options it was built with, its classes (JSON-able)."""
    name = getattr(model, "model_name", None)
    card = {"model": name, "options": {}}
    if name is not None:
        card["revision"] = revision(model)
    if getattr(model, "layout", None) is not None:
        card["options"]["layout"] = model.layout
    if getattr(model, "branch_relu", False):  # recorded when set: a card without it means off
        card["options"]["branch_relu"] = True
    se = getattr(model, "se_config", None)
    if se is not None:
        card["options"].update({k: list(v) if isinstance(v, tuple) else v for k, v in vars(se).items()})
    points = getattr(model, "se_points", None)
    if points:  # blocks senet.add_se inserted: the options rebuild them, the paths check they sit alike
        card["options"]["add_se"] = True
        if getattr(model, "se_where", None):
            card["options"]["where"] = list(model.se_where)
        card["se_points"] = [p.path for p in points]
    num_classes = getattr(model, "num_classes", None)
    if num_classes is not None:
        card["num_classes"] = num_classes
    if classes is not None:
        card["classes"] = list(classes)
    cfg = getattr(model, "default_cfg", None)
    if isinstance(cfg, Mapping) and all(k in cfg for k in PREPROCESS):  # what the weights expect to be shown
        card["preprocess"] = {k: list(cfg[k]) if isinstance(cfg[k], tuple) else cfg[k] for k in PREPROCESS}
    return card


PREPROCESS = ("input_size", "crop_pct", "interpolation", "mean", "std")


def apply_preprocess(model: nn.Module, card: Mapping | None) -> None:
    """Set ``model.default_cfg``'s preprocessing from a card that records it (a run on digits normalises
    with the digits' statistics, not the model's ImageNet or CIFAR defaults)."""
    pre = (card or {}).get("preprocess")
    if not isinstance(pre, Mapping) or not isinstance(getattr(model, "default_cfg", None), dict):
        return
    model.default_cfg.update(
        {k: tuple(v) if isinstance(v, list) else v for k, v in pre.items() if k in PREPROCESS}
    )


def card_from_metadata(meta: dict, where) -> dict | None:
    """The card a file's string metadata holds (safetensors metadata, an ONNX file's ``metadata_props``,
    OpenVINO's ``rt_info``, a ``.pt2`` extra file): key ``senet_card`` (JSON), or ``senet_model`` (a name,
    before cards); None: a file senet did not write. ``where`` names the file in errors."""
    if "senet_card" in meta:
        try:
            card = json.loads(meta["senet_card"])
        except ValueError as e:
            raise CheckpointError(
                f"{where}: its senet card (the safetensors metadata 'senet_card') is not valid JSON ({e}); "
                "restore the file from the run that wrote it"
            ) from None
        return check_card_fields(card, where)
    if "senet_model" in meta:  # written before cards: the name only
        return check_card_fields({"model": meta["senet_model"], "options": {}}, where)
    return None


def _card_from_checkpoint(obj, where) -> dict | None:
    if not isinstance(obj, Mapping):
        return None
    if obj.get("card") is not None:
        return check_card_fields(obj["card"], where)
    cfg = obj.get("config")
    if isinstance(cfg, Mapping) and cfg.get("model"):  # a training checkpoint written before cards
        return check_card_fields(
            {"model": cfg["model"], "options": dict(cfg.get("model_options") or {})}, where
        )
    return None


def check_card_fields(card, where) -> dict:
    """A card as read from a file, checked once: its fields have their types, the class names are distinct
    strings and as many as the classes it records. A hand-edited card that fails is one line naming the file."""
    fix = (
        "restore the file from the run that wrote it, or save it again with senet.save_weights(..., classes=)"
    )

    def bad(what: str):
        return CheckpointError(f"{where}: its senet card {what}; {fix}")

    if not isinstance(card, Mapping):
        raise bad(f"is a {type(card).__name__}, not a JSON object")
    card = dict(card)
    if card.get("model") is not None and not isinstance(card["model"], str):
        raise bad(f"names the model {card['model']!r}, not a model name")
    if not isinstance(card.get("options", {}), Mapping):
        raise bad(f"holds options {card['options']!r}, not a mapping of option names to values")
    if "preprocess" in card and not isinstance(card["preprocess"], Mapping):
        raise bad(f"holds preprocess {card['preprocess']!r}, not a mapping")
    if "revision" in card and (not isinstance(card["revision"], int) or isinstance(card["revision"], bool)):
        raise bad(f"records revision {card['revision']!r}, not an integer")
    points = card.get("se_points")
    if points is not None and (not isinstance(points, list) or not all(isinstance(p, str) for p in points)):
        raise bad(f"holds se_points {points!r}, not a list of module paths")
    n = card.get("num_classes")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise bad(f"records num_classes {n!r}, not a positive integer")
    classes = card.get("classes")
    if classes is not None:
        problem = class_names_problem(classes, n)
        if problem:
            raise bad(problem)
        card["classes"] = list(classes)
    return card


def class_names_problem(classes, num_classes: int | None) -> str | None:
    """What is wrong with a list of class names for a model of ``num_classes`` outputs (None: nothing)."""
    if isinstance(classes, str | bytes) or not isinstance(classes, list | tuple):
        return f"holds the class names {classes!r}, not a list of names"
    if not classes or not all(isinstance(c, str) and c for c in classes):
        return "holds class names that are not all non-empty strings"
    if num_classes is not None and len(classes) != num_classes:
        return f"holds {len(classes)} class names for {num_classes} classes (every output needs its own name)"
    seen: dict[str, int] = {}
    for i, c in enumerate(classes):
        if c in seen:
            return f"class names repeat {c!r} (classes {seen[c]} and {i}); every output needs its own name"
        seen[c] = i
    return None


def _flag(key: str, value) -> str:
    if key == "bias":
        return "--no-se-bias" if value is False else "(no --no-se-bias)"
    if key == "add_se":
        return "--add-se" if value else "(no --add-se)"
    if key == "where":
        return f"--se-where {','.join(value)}" if value else "(no --se-where)"
    if key == "branch_relu":
        return f"(no flag: create_model(..., branch_relu={value!r}); the legacy tags set it)"
    if key == "stages":
        return f"--stages {','.join(map(str, value))}" if value else "(no --stages)"
    return f"--{key} {value}"


def check_card(model: nn.Module, card: dict | None, style: str, where) -> None:
    """Refuse a file whose card says it holds another model or options (or a foreign file whose layout
    the model does not have), naming the option to pass."""
    layout = getattr(model, "layout", None)
    if card is None:
        if style in ("senet", "byobnet") and layout == "official":
            raise CheckpointError(
                f"{where} has no senet card: in this key style it comes from timm or torchvision, whose "
                "ResNets have the torchvision layout (stride on the 3x3, padded stem pool); pass "
                "layout='torchvision' (--layout torchvision), or convert Cadene's official weights"
            )
        return
    name = getattr(model, "model_name", None)
    if card.get("model") and name and card["model"] != name:
        raise CheckpointError(f"{where} holds {card['model']} weights, not {name}; build {card['model']}")
    if card.get("model") and card["model"] == name:
        theirs_rev, ours_rev = card.get("revision", 1), revision(model)
        if theirs_rev != ours_rev:
            raise CheckpointError(
                f"{where} holds {name} weights of revision {theirs_rev}; this senet defines {name} as "
                f"revision {ours_rev} (another network: docs/models.md says what changed); retrain or use "
                "the senet version that wrote the file"
            )
    mine = model_card(model)
    ours, theirs = mine["options"], card.get("options") or {}
    same = card.get("model") is not None and card.get("model") == name
    if same and bool(theirs.get("add_se")) != bool(ours.get("add_se")):
        fix = "pass add_se=True (--add-se)" if theirs.get("add_se") else "build it without add_se"
        raise CheckpointError(f"{where} was built with add_se={bool(theirs.get('add_se'))}; {fix}")
    if "se_points" in card and "se_points" in mine and card["se_points"] != mine["se_points"]:
        theirs_p, ours_p = card["se_points"], mine["se_points"]
        raise CheckpointError(
            f"{where} holds SE blocks at {len(theirs_p)} places ({', '.join(theirs_p[:2])}...), this model "
            f"at {len(ours_p)} ({', '.join(ours_p[:2])}...); build it with the file's where=/stages= "
            "(another torchvision version may trace differently)"
        )
    diff = {k: v for k, v in theirs.items() if k in ours and json.dumps(ours[k]) != json.dumps(v)}
    if bool(theirs.get("branch_relu")) != bool(ours.get("branch_relu")):  # absent: off
        diff["branch_relu"] = bool(theirs.get("branch_relu"))
    if diff:
        opts = ", ".join(f"{k}={v!r}" for k, v in diff.items())
        flags = " ".join(_flag(k, v) for k, v in diff.items())
        raise CheckpointError(f"{where} was built with {opts}; pass {opts} (on the command line: {flags})")


def check_classes(card: dict | None, classes: list[str], where, use: str = "evaluate") -> None:
    """Refuse data whose class names are not the ones the weights were trained on (same count, other
    names: the logits would be read against the wrong labels); ``use`` names what the data is for."""
    theirs = (card or {}).get("classes")
    if theirs is not None and list(theirs) != list(classes):
        more = "..." if len(theirs) > 5 else ""
        raise CheckpointError(
            f"{where} was trained on the classes {list(theirs)[:5]}{more}; the data has "
            f"{list(classes)[:5]}{'...' if len(classes) > 5 else ''}: {use} on the data it was trained on"
        )


def _check_values(sd: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor], where) -> None:
    for k, v in sd.items():
        if v.is_complex():
            raise CheckpointError(f"{where}: {k} is complex ({v.dtype}); weights must be real")
        mine = own.get(k)
        if mine is not None and mine.is_floating_point() != v.is_floating_point():
            raise CheckpointError(f"{where}: {k} is {v.dtype} in the file, {mine.dtype} in the model")
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise CheckpointError(f"{where}: {k} holds NaN or infinite values; the file is not usable")


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
    """ "cadene" for Cadene/timm-legacy keys (``layer0.``, ``se_module``, ``last_linear``), "byobnet" for
    timm's byobnet (``stages.N.M.conv1_1x1``), else "senet"."""
    keys = state_dict.keys()
    if any(k.startswith("layer0.") or ".se_module." in k or k.startswith("last_linear.") for k in keys):
        return "cadene"
    if any(k.startswith("stages.") and ".conv1_1x1." in k for k in keys):
        return "byobnet"
    return "senet"


def _rename(key: str, table) -> str:
    for old, new in table:
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def _byobnet_key(key: str) -> str:
    m = _BYOB_STAGE.fullmatch(key)
    if m:
        stage, unit, rest = m.groups()
        return f"layer{int(stage) + 1}.{unit}.{_rename(rest, _BYOB_UNIT)}"
    return _rename(key, _BYOB_TOP)


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], into: Mapping[str, object] | None = None
) -> dict[str, torch.Tensor]:
    """Rename a state_dict of any supported style to this package's keys; ``into``: the state_dict (or
    keys) of the model it goes into, for the renaming that depends on it (timm's deep stem -> SENet-154's)."""
    style = detect_style(state_dict)
    if style == "byobnet":
        out = {_byobnet_key(k): v for k, v in state_dict.items()}
    elif style == "cadene":
        out = {}
        for k, v in state_dict.items():
            for old, new in _CADENE:
                k = k.replace(old, new, 1) if (old != "layer0." or k.startswith(old)) else k
            out[k] = v
    else:
        out = dict(state_dict)
    deep = into is not None and "conv3.weight" in into and "conv1.0.weight" not in into
    if deep and "conv1.0.weight" in out:  # timm's resnet.py deep stem into SENet-154's
        out = {_rename(k, _DEEP_STEM): v for k, v in out.items()}
    return out


def load_weights(model: nn.Module, checkpoint, strict: bool = True) -> nn.Module:
    """Load ``checkpoint`` (a path or a state_dict) into ``model``; mismatches are named, not guessed.

    A file's card (what it holds) must agree with the model; a foreign file in senet's key style needs the
    torchvision layout; non-float weights and NaN/inf are refused (``senet.hub.weights``).
    """
    _load(model, checkpoint, strict)
    return model


def init_from(model: nn.Module, checkpoint) -> list[str]:
    """Fine-tuning: load ``checkpoint`` into ``model`` except a classifier (``fc``) whose number of classes
    differs, which keeps its fresh initialisation; returns the names of the tensors re-initialised.

    Every other check of :func:`load_weights` applies (the model and its options must be the file's)."""
    return _load(model, checkpoint, True, head=True)


def _head_mismatch(
    model: nn.Module, sd: Mapping[str, torch.Tensor], own: Mapping[str, torch.Tensor]
) -> list[str]:
    fc = getattr(model, "fc", None)
    if not isinstance(fc, nn.Linear):
        return []
    keys = [f"fc.{n}" for n, _ in fc.named_parameters()]
    return [k for k in keys if k in sd and k in own and sd[k].shape != own[k].shape]


def _load(model: nn.Module, checkpoint, strict: bool, head: bool = False) -> list[str]:
    if not isinstance(model, nn.Module):
        raise SenetTypeError(f"load_weights needs a torch.nn.Module, got {type(model).__name__}")
    if isinstance(checkpoint, Mapping):  # a state_dict, or a checkpoint dict holding one
        sd, card, where = (
            _unwrap(checkpoint, "the state_dict"),
            _card_from_checkpoint(checkpoint, "the state_dict"),
            "the state_dict",
        )
    elif isinstance(checkpoint, str | os.PathLike):
        (sd, card), where = read_weights(checkpoint), repr(str(checkpoint))
    else:
        raise SenetTypeError(f"a checkpoint is a path or a state_dict, got {type(checkpoint).__name__}")
    style = detect_style(sd)
    if style == "cadene" and not any(".conv3." in k for k in sd) and not getattr(model, "branch_relu", False):
        # Same keys and shapes as ours, another function: a silent load would give wrong logits.
        raise CheckpointError(
            "Cadene/timm legacy SE-ResNet-18/34 weights: their basic block has an extra ReLU after bn2, so "
            "they compute another function than senet's se_resnet18/34; build the model with "
            "branch_relu=True (the tags se_resnet18.timm_in1k and se_resnet34.timm_in1k do)"
        )
    if head and card is not None:  # another task's classes: what is compared is the network
        card = {k: v for k, v in card.items() if k not in ("num_classes", "classes")}
    if not isinstance(checkpoint, Mapping) or card is not None:
        check_card(model, card, style, where)
    own = model.state_dict()
    sd = convert_state_dict(sd, own)
    fresh = _head_mismatch(model, sd, own) if head else []
    sd = {k: v for k, v in sd.items() if k not in fresh}
    own_kept = {k: v for k, v in own.items() if k not in fresh}
    _check_values(sd, own, where)
    # BN's num_batches_tracked (PyTorch >= 0.4.1) is absent from older files, e.g. Cadene's 2017 weights;
    # torch itself loads them, keeping the model's counter.
    missing = [k for k in own_kept if k not in sd and not k.endswith("num_batches_tracked")]
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
    model.load_state_dict(sd, strict=strict and not fresh, assign=on_meta)
    if not fresh:  # the same task: the weights' own preprocessing (fine-tuning keeps the new data's)
        apply_preprocess(model, card)
    return fresh


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
    classes: list[str] | None = None,
) -> Path:
    """Write a model's weights (or a state_dict) as safetensors, atomically, with the model's card.

    ``path`` must end in ``.safetensors`` and must not be a directory; non-finite weights are refused.
    """
    from safetensors.torch import save_file

    if not isinstance(path, str | os.PathLike):
        raise SenetTypeError(f"save_weights: the path must be a string or a path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() != ".safetensors":
        raise SenetError(f"{path}: weights are written as safetensors; give the file a .safetensors name")
    if path.is_dir():
        raise SenetError(f"{path} is a directory; give a file name")
    if not isinstance(model, nn.Module | Mapping):
        raise SenetError(f"save_weights needs a model or a state_dict, got {type(model).__name__}")
    sd = model.state_dict() if isinstance(model, nn.Module) else model
    if not _all_tensors(sd):
        raise SenetError("save_weights: a state_dict maps names (str) to tensors")
    if metadata is not None and (
        not isinstance(metadata, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise SenetTypeError("save_weights: metadata maps strings to strings")
    if any(k.startswith("senet_") for k in metadata or {}):
        raise SenetError("save_weights: metadata keys starting with 'senet_' are senet's own (the card)")
    num_classes = getattr(model, "num_classes", None)
    if classes is not None and num_classes and len(classes) != num_classes:
        raise SenetError(f"save_weights: {len(classes)} class names for a model of {num_classes} classes")
    problem = None if classes is None else class_names_problem(classes, None)
    if problem:
        raise SenetError(f"save_weights: classes= {problem}")
    bad = [k for k, v in sd.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise SenetError(f"refused to save {path}: {', '.join(bad[:3])} hold NaN or infinite values")
    sd = {k: v.detach().cpu().contiguous() for k, v in sd.items()}
    meta = {"format": "pt", **(metadata or {})}
    if isinstance(model, nn.Module) and getattr(model, "model_name", None):
        meta.setdefault("senet_model", model.model_name)
        meta.setdefault("senet_card", json.dumps(model_card(model, classes)))
    return atomic_write(path, lambda tmp: save_file(sd, tmp, metadata=meta))
