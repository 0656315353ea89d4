"""``TrainConfig``: everything one training run needs, as one frozen dataclass, and its resolution.

Fields left ``None`` are filled from the recipe (``senet recipes``) when the run starts; the resolved
values are written to ``config.json`` in the run directory. ``senet train`` builds one from its flags,
``senet ablate`` and users build one in Python and call :func:`senet.train`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from .. import data as D
from ..core.distributed import DistEnv
from ..core.runtime import check_amp
from ..errors import SenetError, SenetTypeError
from .recipes import RULES, Recipe, Rule, default_recipe, get_recipe


def _optional(rule: Rule) -> Rule:
    return dataclasses.replace(rule, none=True)  # None: the recipe's


# The values each numeric field of a run takes; the fields a recipe has too use the recipe's rule, so
# ``--lr`` and ``--set lr=`` (and ``senet.train(lr=...)``) accept exactly the same values.
TRAIN_RULES: dict[str, Rule] = {
    **{k: _optional(RULES[k]) for k in ("epochs", "batch_size", "lr", "weight_decay", "label_smoothing")},
    "image_size": Rule(int, 1, none=True),
    "accum_steps": Rule(int, 1),
    "max_steps": Rule(int, 1, none=True),
    "max_batches": Rule(int, 1, none=True),
    "seed": Rule(int, 0, 2**31),
    "workers": Rule(int, 0, 1024),
    "freeze_backbone": Rule(int, 0),
}


@dataclass(frozen=True)
class TrainConfig:
    """One training run. ``batch_size`` is the *global* batch (all ranks x accumulation steps)."""

    model: str
    data: str = "digits"  # digits | synthetic | imagefolder:PATH | cifar10:PATH | cifar100:PATH
    recipe: str | None = None  # None: chosen from the data (imagefolder -> imagenet, cifar -> cifar-resnet)
    epochs: int | None = None  # None: the recipe's
    batch_size: int | None = None  # global batch; None: the recipe's
    lr: float | None = None  # None: the recipe's lr scaled linearly with the global batch
    weight_decay: float | None = None
    label_smoothing: float | None = None
    class_balanced: bool | None = None  # class-aware sampling (CVPR version, Relay Backpropagation)
    image_size: int | None = None  # training crop; None: the recipe's (ImageNet 224) or the data's (32)
    out: str | None = None  # run directory; None: runs/<model>
    resume: str | None = None  # None | "auto" | path to a checkpoint
    seed: int = 0
    amp: str | None = None  # None | "bf16" | "fp16"
    channels_last: bool = False
    compile: bool = False
    accum_steps: int = 1
    workers: int = 2
    device: str | None = None  # None: cuda if available, else cpu
    sync_bn: bool = False
    deterministic: bool = False
    strict: bool = False  # a corrupted image stops the run instead of being skipped and counted
    max_steps: int | None = None  # stop after this many optimizer steps as a preemption would (resumable)
    max_batches: int | None = None  # use at most this many batches per epoch (smoke tests, benchmarks)
    progress: bool = True
    tensorboard: bool = True
    model_options: dict = field(default_factory=dict)  # SE knobs: reduction, squeeze, excitation, ...
    init: str | None = None  # fine-tuning: weights to start from, a path or "pretrained:TAG"
    freeze_backbone: int = 0  # fine-tuning: epochs in which only the classifier learns
    grad_checkpointing: bool = False  # recompute activations backward: less memory, same gradients
    overrides: dict = field(default_factory=dict)  # recipe fields set by name (senet train --set KEY=VALUE)

    def __post_init__(self):
        for name, kinds, optional in (
            ("model", str, False),
            ("data", str, False),
            ("recipe", str, True),
            ("out", str | os.PathLike, True),
            ("resume", str | os.PathLike, True),
            ("device", str, True),
            ("init", str | os.PathLike, True),
            ("class_balanced", bool, True),
            *((b, bool, False) for b in ("channels_last", "compile", "sync_bn", "deterministic", "strict")),
            *((b, bool, False) for b in ("progress", "tensorboard", "grad_checkpointing")),
        ):
            v = getattr(self, name)
            if not (isinstance(v, kinds) or (optional and v is None)):
                what = {str: "a string", bool: "True or False"}.get(kinds, "a string or a path")
                raise SenetTypeError(f"{name} must be {what}{' or None' if optional else ''}, got {v!r}")
        check_amp(self.amp)
        for name, rule in TRAIN_RULES.items():
            rule.check(name, getattr(self, name))
        if self.freeze_backbone and self.init is None:
            raise SenetError("freeze_backbone trains the classifier on a backbone from --init; give --init")
        if not isinstance(self.overrides, dict):
            raise SenetTypeError(
                f"overrides must be a dict of recipe fields, got {type(self.overrides).__name__}"
            )
        from .recipes import settable, with_sets

        unknown = sorted(set(self.overrides) - set(settable()))
        if unknown:
            raise SenetError(f"overrides {unknown} are not recipe fields; allowed: {', '.join(settable())}")
        recipe = get_recipe(self._recipe_name())  # an unknown recipe is refused before any work
        with_sets(recipe, self.overrides, self.epochs)  # each field in its range, the fields together
        self._check_image_size()
        if not isinstance(self.model_options, dict):
            raise SenetError(f"model_options must be a dict, got {type(self.model_options).__name__}")

    def _recipe_name(self) -> str:
        return self.recipe or ("finetune" if self.init else default_recipe(self.data, self.model))

    def _check_image_size(self) -> None:
        """The training size must leave the model something to convolve (``model_info().min_input_size``)."""
        from ..models.factory import model_info

        info = model_info(self.model)
        size = self.image_size or (info.input_size[-1] if self.data.startswith("imagefolder") else 32)
        if size < info.min_input_size:
            given = "--image-size" if self.image_size else "the data's image size"
            raise SenetError(
                f"{given} {size} is below {self.model}'s smallest input, {info.min_input_size} px; "
                f"give --image-size {info.min_input_size} or more"
            )

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The inverse of :meth:`as_dict`; unknown keys are an error (a typo must not pass silently)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise SenetError(f"unknown training options {unknown}; allowed: {', '.join(sorted(names))}")
        return cls(**d)

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def resolve(config: TrainConfig, env: DistEnv) -> tuple[Recipe, dict]:
    """Fill the config's blanks from the recipe (PAPER.md sec. 8); lr scales with the global batch.

    Images are the model's own size on image folders (224; Inception-ResNet-v2 299, ``model_info``) and
    32x32 for CIFAR, digits and synthetic data, unless ``image_size`` says otherwise. The recipe defaults to
    the model's paper's for its data (``senet.engine.recipes.default_recipe``).
    """
    from ..models.factory import model_info
    from .recipes import with_sets

    recipe = get_recipe(config._recipe_name())
    recipe = with_sets(recipe, config.overrides, config.epochs)
    batch = config.batch_size or recipe.batch_size
    per_rank = env.world_size * config.accum_steps
    if batch % per_rank:
        raise SenetError(
            f"batch size {batch} is not divisible by {env.world_size} processes x "
            f"{config.accum_steps} accumulation steps"
        )
    pick = lambda v, default: default if v is None else v  # noqa: E731
    return recipe, {
        "recipe": recipe.name,
        "epochs": config.epochs or recipe.epochs,
        "batch_size": batch,
        "micro_batch": batch // per_rank,
        "world_size": env.world_size,
        "lr": pick(config.lr, recipe.lr_for(batch)),
        "weight_decay": pick(config.weight_decay, recipe.weight_decay),
        "label_smoothing": pick(config.label_smoothing, recipe.label_smoothing),
        "class_balanced": pick(config.class_balanced, recipe.class_balanced),
        "image_size": config.image_size
        or (model_info(config.model).input_size[-1] if config.data.startswith("imagefolder") else 32),
        "out": str(config.out or f"runs/{config.model}"),
    }


def views_for(config: TrainConfig, recipe: Recipe, size: int) -> D.Views:
    """Training and evaluation views: the recipe's augmentation for real data, shifts for digits, none for
    synthetic; on image folders the evaluation crop is the training size after resizing the short side by
    the model's crop fraction (Sec. 5.1: 224 of 256; Inception-ResNet-v2 299 of 352)."""
    from ..models.factory import model_info

    kind, _ = D.parse(config.data)
    augment = {"digits": "digits", "synthetic": "none"}.get(kind, recipe.augment)
    extra = dict(auto_augment=recipe.auto_augment, random_erasing=recipe.random_erasing)
    if kind != "imagefolder":
        return D.Views(augment, size, cutout=recipe.cutout, **extra)
    resize = round(size / model_info(config.model).crop_pct)
    return D.Views(augment, size, resize, size, recipe.crop_scale, recipe.crop_ratio, recipe.cutout, **extra)


def init_tag(config: TrainConfig):
    """The pretrained tag ``init`` names, or None (a file): ``"pretrained:TAG"`` (``"pretrained"`` alone: the
    model's default) or a full tag name ``"MODEL.TAG"`` of the run's model."""
    from ..hub.pretrained import get_tag, tag_named

    init = str(config.init) if config.init is not None else ""
    if init == "pretrained" or init.startswith("pretrained:"):
        return get_tag(config.model, init.partition(":")[2] or True)
    tag = tag_named(init)
    if tag is not None and tag.model != config.model:
        raise SenetError(
            f"--init {init} holds {tag.model} weights, not {config.model}; give --model {tag.model} (or leave "
            "--model out: the tag names it)"
        )
    return tag


def model_options(config: TrainConfig, recipe: Recipe) -> dict:
    """The SE options: the config's, plus the recipe's ``bias=False`` for SE models (TPAMI ablations), plus
    what pretrained weights to start from need (``layout``)."""
    from ..models.factory import model_info
    from ..models.factory import model_options as offered

    opts = dict(config.model_options)
    if recipe.drop_path_rate and "drop_path_rate" in offered(config.model):
        opts.setdefault("drop_path_rate", recipe.drop_path_rate)  # the residual families take it
    tag = init_tag(config)
    for k, v in (tag.options if tag else {}).items():
        if opts.setdefault(k, v) != v:
            raise SenetError(f"--init {config.init} needs {k}={v!r}; drop --{k} {opts[k]}")
    if recipe.se_bias is False and (model_info(config.model).se or opts.get("add_se")):
        opts.setdefault("bias", False)
    return opts
