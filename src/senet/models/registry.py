"""The model registry: the records families register into (the lowest module of ``senet.models``).

A family is a builder plus what it offers (SE placements, its own options); each row of its table is
registered twice by :func:`register_family`, as the plain network and as its SE twin (the paper compares
every SE network with its twin). The registry imports no family and no factory: the families import it
(:mod:`senet.models.factory` builds models out of it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from torch import nn

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
    # a file of another revision is refused (senet.hub.weights). 2: resnet110/164_cifar, shake_even29 (0.2).
    revision: int = 1
    recipe: str | None = None  # the recipe of the model's paper (``senet recipes``), the default for its data
    pretrained: Mapping | None = None  # with model_info(name, tag): the tag's card (senet.hub.pretrained.Tag)

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
