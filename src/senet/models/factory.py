"""``create_model`` / ``list_models`` / ``model_info`` / ``model_options``: models out of the registry.

Importing anything of ``senet.models`` runs its ``__init__``, which imports every family module, and each
family registers its rows (:func:`senet.models.registry.register_family`): the registry never imports the
families back (timm's ``_registry`` / ``_factory`` split). ``create_model`` turns the SE keyword options into
one checked :class:`~senet.layers.SEConfig` and calls the family's builder (torchvision ``_api.py`` style).
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import replace

from torch import nn

from ..errors import SenetError, SenetTypeError
from ..layers.se import SEConfig
from .registry import _MODELS, TORCHVISION, ModelInfo, _Entry


def _entry(name) -> _Entry:
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
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def model_info(name: str, tag=None) -> ModelInfo:
    """The metadata of a registered model; unknown names fail with the closest matches. With ``tag``
    (True for the default, or a tag name) the preprocessing is the weights' and ``pretrained`` holds the
    tag's card: source, license, published errors and their transform, what is checked."""
    info = _entry(name).info
    if tag is None or tag is False:
        return info
    from ..hub.pretrained import get_tag

    t = get_tag(name, tag)
    cfg = t.cfg()
    return replace(info, input_size=cfg["input_size"], crop_pct=cfg["crop_pct"],
                   interpolation=cfg["interpolation"], mean=cfg["mean"], std=cfg["std"],
                   num_classes=cfg["num_classes"], pretrained=t.as_dict())  # fmt: skip


def model_options(name: str) -> dict[str, object]:
    """The keyword options ``create_model(name, ...)`` takes, with their defaults."""
    entry = _entry(name)
    defaults = SEConfig(**_se_defaults(entry)) if entry.info.se else SEConfig()
    se = {f: getattr(defaults, f) for f in SEConfig.options()}
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
    options = {**_se_defaults(entry), **se_options}
    return SEConfig.from_options(**options).check(entry.family.placements, stage_ids)


def _se_defaults(entry: _Entry) -> dict:
    """The row's own SE defaults (timm's ts rows: placement "3x3"), which options given override."""
    return dict(getattr(entry.spec, "se_defaults", {}))


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
        from ..hub.pretrained import get_tag

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
    if num_classes is None:  # the weights' own class count (ImageNet-12k tags: 11821), else the model's
        num_classes = tag.num_classes if tag is not None else entry.info.num_classes
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise SenetTypeError(f"num_classes must be a positive integer, got {num_classes!r}")
    if num_classes < 1:
        raise SenetError(f"num_classes must be a positive integer, got {num_classes!r}")
    model = entry.family.build(entry.spec, num_classes, se, **{**entry.family.options, **own})
    model.model_name = name
    model.default_cfg = model.pretrained_cfg = {**entry.info.as_dict(), "num_classes": num_classes}
    if retrofit is not None:
        from ..retrofit.insert import add_se

        add_se(model, **retrofit)
    if checkpoint is not None:
        from ..hub.weights import load_weights

        load_weights(model, checkpoint)
    if tag is not None:
        from ..hub.pretrained import download
        from ..hub.weights import init_from

        model.reinitialized = init_from(model, download(tag))
        model.default_cfg = model.pretrained_cfg = {
            **model.default_cfg,
            **tag.cfg(),
            "num_classes": num_classes,
        }
    if features_only:
        from .features import FeatureNet

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
