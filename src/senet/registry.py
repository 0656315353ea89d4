"""The model registry: families of specs in, ``create_model`` / ``list_models`` / ``model_info`` out.

A family is a builder plus what it offers (SE placements, its own options); each row of its table is
registered twice by :func:`register_family`, as the plain network and as its SE twin (the paper compares
every SE network with its twin). ``create_model`` turns the SE keyword options into one checked
:class:`~senet.layers.SEConfig` and calls the builder (torchvision ``_api.py`` style: a dict, no magic).
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from torch import nn

from .errors import SenetError, SenetTypeError
from .layers import SEConfig

TORCHVISION = (
    "torchvision:"  # ``torchvision:NAME``: torchvision's classifier NAME, random weights (add_se=True)
)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ModelInfo:
    """Metadata per model (timm's ``pretrained_cfg`` fields): what the eval transform needs."""

    name: str = ""
    family: str = ""
    input_size: tuple[int, int, int] = (3, 224, 224)
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    num_classes: int = 1000
    se: bool = False
    twin: str | None = None  # the plain (or SE) twin the paper compares against
    min_input_size: int = 32  # the smallest square input the model runs at (tests use it)
    # Raised when a model's definition changes (same name, another function): weight files record it, and
    # a file of another revision is refused (senet.weights). 2: resnet110/164_cifar, shake_even29 (0.2).
    revision: int = 1
    recipe: str | None = None  # the recipe of the model's paper (``senet recipes``), the default for its data
    pretrained: Mapping | None = None  # with model_info(name, tag): the tag's card (senet.pretrained.Tag)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


CIFAR_INFO = dict(
    input_size=(3, 32, 32),
    mean=CIFAR_MEAN,
    std=CIFAR_STD,
    crop_pct=1.0,
    num_classes=10,
    recipe="cifar-resnet",
)


@dataclass(frozen=True)
class Family:
    """A family of networks: ``build(spec, num_classes, se, **options)`` and what it offers.

    ``placements``: where its units can put the SE block (``SEConfig.placement``); ``options``: its own
    keyword options with their defaults (e.g. ``layout`` for ResNets); ``info``: metadata shared by its
    rows. A spec's ``stage_ids`` (if any) are the paper stage numbers that ``stages=`` may name.
    """

    name: str
    build: Callable[..., nn.Module]
    placements: tuple[str, ...] = ("standard",)
    options: Mapping[str, object] = field(default_factory=lambda: {"drop_rate": None, "in_chans": 3})
    info: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class _Entry:
    family: Family
    spec: object
    info: ModelInfo


_MODELS: dict[str, _Entry] = {}


def register_family(
    family: Family,
    specs: Mapping[str, object],
    se_names: Mapping[str, str] | None = None,
    row_info: Mapping[str, Mapping] | None = None,
) -> None:
    """Register every row of ``specs`` as ``name`` (plain) and ``se_name`` (SE; ``se_<name>`` by default).

    ``row_info`` adds metadata per row (e.g. another default class count); a name registered twice raises.
    """
    for name, spec in specs.items():
        se_name = (se_names or {}).get(name, f"se_{name}")
        info = ModelInfo(family=family.name, **{**family.info, **(row_info or {}).get(name, {})})
        for this, twin, se in ((name, se_name, False), (se_name, name, True)):
            if this in _MODELS:
                raise RuntimeError(f"model {this!r} is registered twice")
            _MODELS[this] = _Entry(family, spec, replace(info, name=this, twin=twin, se=se))


def _ensure_loaded() -> None:
    from . import models  # noqa: F401  (importing the package registers every family)


def _entry(name) -> _Entry:
    _ensure_loaded()
    if not isinstance(name, str):
        raise SenetTypeError(f"a model name must be a string, got {type(name).__name__}; see `senet list`")
    if name.startswith(TORCHVISION):
        from .torchvision_models import entry

        return entry(name)
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `senet list`"
        raise SenetError(f"unknown model {name!r}{hint}")
    return _MODELS[name]


def list_models(pattern: str = "*") -> list[str]:
    """Sorted registered names matching a shell-style ``pattern`` (e.g. ``"se_*"``)."""
    _ensure_loaded()
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_info(name: str, tag=None) -> ModelInfo:
    """The metadata of a registered model; unknown names fail with the closest matches. With ``tag``
    (True for the default, or a tag name) the preprocessing is the weights' and ``pretrained`` holds the
    tag's card: source, license, published errors and their transform, what is checked."""
    info = _entry(name).info
    if tag is None or tag is False:
        return info
    from .pretrained import get_tag

    t = get_tag(name, tag)
    cfg = t.cfg()
    return replace(info, input_size=cfg["input_size"], crop_pct=cfg["crop_pct"],
                   interpolation=cfg["interpolation"], mean=cfg["mean"], std=cfg["std"],
                   pretrained=t.as_dict())  # fmt: skip


def model_options(name: str) -> dict[str, object]:
    """The keyword options ``create_model(name, ...)`` takes, with their defaults."""
    entry = _entry(name)
    se = {f: getattr(SEConfig(), f) for f in SEConfig.options()}
    if entry.info.se:
        return {**se, **entry.family.options}
    return {**entry.family.options, "add_se": False, "where": None, **se}  # SE options go with add_se


def se_config(name: str, **options) -> SEConfig | None:
    """The checked :class:`SEConfig` that ``create_model(name, **options)`` builds (None for plain models)."""
    entry = _entry(name)
    se_options = {k: options[k] for k in SEConfig.options() if k in options}
    if not entry.info.se:
        if se_options:
            use = f"use {entry.info.twin} or" if entry.info.twin else "pass"
            raise SenetError(
                f"{name} has no SE blocks, so {sorted(se_options)} do not apply; {use} add_se=True "
                "(--add-se) to insert them"
            )
        return None
    stage_ids = getattr(entry.spec, "stage_ids", ())
    return SEConfig.from_options(**se_options).check(entry.family.placements, stage_ids)


def create_model(
    name: str,
    num_classes: int | None = None,
    checkpoint=None,
    pretrained=None,
    features_only: bool = False,
    out_indices=None,
    **options,
) -> nn.Module:
    """Build a registered model, optionally loading ``checkpoint`` (a path to .pth/.pt/.safetensors) or
    ``pretrained`` weights (True for the model's default tag, or a tag: ``senet list --pretrained``).

    ``options`` are the SE knobs of the paper's ablations (``reduction``, ``squeeze``, ``excitation``,
    ``bias``, ``placement``, ``stages``) on SE models, and the family's own (``layout``, ``drop_rate``,
    ``in_chans``); :func:`model_options` lists them. With ``pretrained`` and another ``num_classes``
    the classifier keeps its fresh initialisation (``model.reinitialized`` names its tensors), and
    ``model.default_cfg`` is the preprocessing the weights expect. ``features_only=True`` returns the
    feature maps at ``out_indices`` instead (timm's API; ``model.feature_info`` describes them).
    """
    if out_indices is not None and not features_only:
        raise SenetError("out_indices goes with features_only=True")
    if isinstance(name, str) and name.startswith(TORCHVISION) and (features_only or pretrained):
        raise SenetError(
            f"{name}: torchvision models come with random weights and their own classifier here; "
            "features_only and pretrained are for senet's models (torchvision: create_feature_extractor, weights=)"
        )
    tag = None
    if pretrained is not None and pretrained is not False:
        from .pretrained import get_tag

        if checkpoint is not None:
            raise SenetError("pass pretrained or checkpoint, not both")
        tag = get_tag(name, pretrained)
        clash = {k: v for k, v in tag.options.items() if k in options and options[k] != v}
        if clash:
            need = ", ".join(f"{k}={v!r}" for k, v in clash.items())
            raise SenetError(f"the weights {tag.name} need {need}; drop the other value")
        options = {**tag.options, **options}
    entry = _entry(name)
    retrofit = _retrofit_options(name, entry, options)
    taken = ("add_se", "where", *(SEConfig.options() if retrofit is not None else ()))
    options = {k: v for k, v in options.items() if k not in taken}
    se = se_config(name, **options)
    own = {k: v for k, v in options.items() if k not in SEConfig.options()}
    unknown = sorted(set(own) - set(entry.family.options))
    if unknown:
        raise SenetError(f"{name} does not take {unknown}; allowed options: {', '.join(model_options(name))}")
    if num_classes is None:
        num_classes = entry.info.num_classes
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise SenetTypeError(f"num_classes must be a positive integer, got {num_classes!r}")
    if num_classes < 1:
        raise SenetError(f"num_classes must be a positive integer, got {num_classes!r}")
    model = entry.family.build(entry.spec, num_classes, se, **{**entry.family.options, **own})
    model.model_name = name
    model.default_cfg = model.pretrained_cfg = {**entry.info.as_dict(), "num_classes": num_classes}
    if retrofit is not None:
        from .retrofit import add_se

        add_se(model, **retrofit)
    if checkpoint is not None:
        from .weights import load_weights

        load_weights(model, checkpoint)
    if tag is not None:
        from .pretrained import download
        from .weights import init_from

        model.reinitialized = init_from(model, download(tag))
        model.default_cfg = model.pretrained_cfg = {
            **model.default_cfg,
            **tag.cfg(),
            "num_classes": num_classes,
        }
    if features_only:
        from .models.features import FeatureNet

        return FeatureNet(model, out_indices)
    return model


def _retrofit_options(name: str, entry: _Entry, options: dict) -> dict | None:
    """``add_se`` and its options when ``create_model`` is asked to insert SE blocks (None otherwise)."""
    add = options.get("add_se", False)
    if not isinstance(add, bool) and add not in (0, 1):  # 0/1: `senet bench NAME[add_se=1]`
        raise SenetTypeError(f"add_se must be True or False, got {add!r}")
    if not add:
        if options.get("where") is not None:
            raise SenetError("where= picks the blocks add_se inserts; pass add_se=True (--add-se) with it")
        return None
    if entry.info.se:
        raise SenetError(
            f"{name} already has SE blocks; add_se=True applies to {entry.info.twin or 'plain models'}"
        )
    keys = (*SEConfig.options(), "where")
    return {k: options[k] for k in keys if k in options and options[k] is not None}
