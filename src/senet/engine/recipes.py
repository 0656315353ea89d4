"""The paper's training recipes as named, frozen presets (PAPER.md section 8).

Learning rates are given for ``ref_batch`` images and scaled linearly with the global batch
(Goyal et al.), so ``imagenet`` at batch 256 trains with lr 0.15 and at 1024 with the paper's 0.6.
Milestones are fractions of the epochs, so a shortened run keeps the schedule's shape.
Where the paper is silent the usual value of the cited original paper is used and marked "assumed".
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass

from ..errors import SenetError, SenetTypeError

SCHEDULES = ("step", "multistep", "plateau", "cosine")
AUGMENTS = ("imagenet", "mobile", "cifar", "digits", "none")


@dataclass(frozen=True)
class Recipe:
    """Optimiser, schedule and augmentation of one of the paper's experiments."""

    name: str
    source: str  # where the numbers come from
    epochs: int
    batch_size: int  # the paper's global batch
    lr: float  # for ref_batch images; scaled linearly with the global batch
    ref_batch: int
    weight_decay: float
    momentum: float = 0.9
    nesterov: bool = False
    schedule: str = "step"
    step_epochs: int = 30  # "step": divide every step_epochs epochs
    milestones: tuple[float, ...] = ()  # "multistep": fractions of the epochs
    gamma: float = 0.1
    plateau_patience: int = 5  # "plateau": epochs without val-loss improvement
    plateau_reductions: int = 3  # "plateau": lr stops falling after this many divisions
    label_smoothing: float = 0.0
    class_balanced: bool = False
    se_bias: bool | None = None  # False: SE FCs without biases (TPAMI ablations)
    augment: str = (
        "imagenet"  # the training views; their size is the model's (``model_info``), or 32 on CIFAR
    )
    crop_scale: tuple[float, float] = (0.08, 1.0)  # RandomResizedCrop area jitter
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)  # and aspect-ratio jitter
    cutout: int = 0  # side of the Cutout square (DeVries & Taylor; Shake-Shake), 0 = none
    freeze_bn_epochs: int = 0  # BN statistics frozen (eval mode) in the last N epochs (SENet-154)
    warmup_epochs: int = 0  # linear warm-up from a tenth of the rate over the first N epochs
    # Today's training (senet.engine.modern): each off by default, so the paper's recipes train as before.
    optimizer: str = "sgd"  # sgd (momentum, nesterov) | adamw | rmsprop
    norm_weight_decay: float | None = None  # decay of BN weights and all biases (None: weight_decay; 0: none)
    clip_grad_norm: float = 0.0  # clip the global gradient norm to this (0: off)
    mixup_alpha: float = 0.0  # MixUp's Beta(alpha, alpha) (0: off)
    cutmix_alpha: float = 0.0  # CutMix's Beta(alpha, alpha) (0: off); with both, one of them per batch
    ema_decay: float = 0.0  # exponential moving average of the weights, evaluated and saved beside them
    auto_augment: str = "none"  # none | randaugment | trivialaugment | autoaugment (torchvision v2)
    random_erasing: float = 0.0  # probability of torchvision's RandomErasing (0: off)
    drop_path_rate: float = 0.0  # stochastic depth of the residual families, rising linearly to this (0: off)
    published: str = ""  # what its source reports with it (error %, top-1/top-5 unless stated)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line with every value that differs between recipes (what ``senet recipes`` prints)."""
        sched = {
            "step": f"/{1 / self.gamma:g} every {self.step_epochs} epochs",
            "multistep": f"x{self.gamma:g} at {', '.join(f'{m:.0%}' for m in self.milestones)} of the epochs",
            "cosine": "cosine",
            "plateau": f"/{1 / self.gamma:g} on plateau ({self.plateau_reductions}x)",
        }[self.schedule]
        extras = [f"label smoothing {self.label_smoothing:g}"] if self.label_smoothing else []
        extras += ["no SE biases"] if self.se_bias is False else []
        extras += [f"Cutout {self.cutout}x{self.cutout}"] if self.cutout else []
        extras += [f"BN frozen for the last {self.freeze_bn_epochs} epochs"] if self.freeze_bn_epochs else []
        extras += [f"{self.warmup_epochs} warm-up epoch(s)"] if self.warmup_epochs else []
        extras += [f"BN/bias decay {self.norm_weight_decay:g}"] if self.norm_weight_decay is not None else []
        extras += [f"grad-norm clip {self.clip_grad_norm:g}"] if self.clip_grad_norm else []
        extras += [f"mixup {self.mixup_alpha:g}"] if self.mixup_alpha else []
        extras += [f"cutmix {self.cutmix_alpha:g}"] if self.cutmix_alpha else []
        extras += [f"EMA {self.ema_decay:g}"] if self.ema_decay else []
        extras += [self.auto_augment] if self.auto_augment != "none" else []
        extras += [f"random erasing {self.random_erasing:g}"] if self.random_erasing else []
        extras += [f"stochastic depth {self.drop_path_rate:g}"] if self.drop_path_rate else []
        return (
            f"{self.epochs} epochs, batch {self.batch_size}, lr {self.lr:g} per {self.ref_batch} images "
            f"(linear scaling), {self._optimizer_text()}, "
            f"wd {self.weight_decay:g}, {sched}, augment {self.augment}"
            + (", " + ", ".join(extras) if extras else "")
        )

    def _optimizer_text(self) -> str:
        if self.optimizer == "sgd":
            return f"SGD momentum {self.momentum:g}{' Nesterov' if self.nesterov else ''}"
        return {"adamw": "AdamW", "rmsprop": f"RMSprop momentum {self.momentum:g}"}[self.optimizer]

    def lr_for(self, global_batch: int) -> float:
        """The learning rate scaled linearly from ``ref_batch`` to ``global_batch`` images."""
        return self.lr * global_batch / self.ref_batch


_RECIPES = (
    Recipe(
        "imagenet",
        "Sec. 8 ImageNet: SGD 0.9, batch 1024, lr 0.6, /10 every 30 epochs, 100 epochs; "
        "wd 1e-4 assumed (usual ResNet value)",
        epochs=100,
        batch_size=1024,
        lr=0.6,
        ref_batch=1024,
        weight_decay=1e-4,
    ),
    Recipe(
        "imagenet-ablation",
        "Sec. 8 TPAMI ablations: no SE biases, label smoothing, lr 0.1 /10 on "
        "plateau three times, ~300 epochs; batch 256 and smoothing 0.1 assumed",
        epochs=300,
        batch_size=256,
        lr=0.1,
        ref_batch=256,
        weight_decay=1e-4,
        schedule="plateau",
        label_smoothing=0.1,
        se_bias=False,
    ),
    Recipe(
        "mobile",
        "Sec. 8 MobileNet/ShuffleNet: batch 256, lr 0.1 /10 on plateau, ~400 epochs, lighter "
        "augmentation (crop area 25-100%); wd 4e-5 assumed (MobileNet/ShuffleNet papers)",
        epochs=400,
        batch_size=256,
        lr=0.1,
        ref_batch=256,
        weight_decay=4e-5,
        schedule="plateau",
        plateau_reductions=4,
        augment="mobile",
        crop_scale=(0.25, 1.0),
    ),
    Recipe(
        "cifar-resnet",
        "Sec. 8 CIFAR ResNet-110/164: SGD 0.9, lr 0.1, batch 128, wd 1e-4, 164 epochs, /10 at 50% and 75%",
        epochs=164,
        batch_size=128,
        lr=0.1,
        ref_batch=128,
        weight_decay=1e-4,
        schedule="multistep",
        milestones=(0.5, 0.75),
        augment="cifar",
    ),
    Recipe(
        "cifar-wrn",
        "Sec. 8 CIFAR WRN: lr 0.1, wd 5e-4, Nesterov, 200 epochs, x0.2 at 60/120/160; batch 128 (WRN paper)",
        epochs=200,
        batch_size=128,
        lr=0.1,
        ref_batch=128,
        weight_decay=5e-4,
        nesterov=True,
        schedule="multistep",
        milestones=(0.3, 0.6, 0.8),
        gamma=0.2,
        augment="cifar",
    ),
    Recipe(
        "cifar-shake",
        "Sec. 8 Shake-Shake: batch 128, lr 0.2 cosine, wd 1e-4, 1800 epochs, Cutout 16x16",
        epochs=1800,
        batch_size=128,
        lr=0.2,
        ref_batch=128,
        weight_decay=1e-4,
        schedule="cosine",
        augment="cifar",
        cutout=16,
    ),
    Recipe(
        "cifar-shake-even",
        "Sec. 5.1 (hyper-parameters of the original paper): Shake-Even 29 2x4x64d on CIFAR-100 as Gastaldi's "
        "README runs it: batch 32, lr 0.025 cosine, wd 5e-4, 1800 epochs; Cutout 8x8 (DeVries & Taylor's "
        "CIFAR-100 size)",
        epochs=1800,
        batch_size=32,
        lr=0.025,
        ref_batch=32,
        weight_decay=5e-4,
        schedule="cosine",
        augment="cifar",
        cutout=8,
    ),
    Recipe(
        "senet154",
        "Appendix (SENet-154): label smoothing, BN frozen for the last few epochs, batch 2048, lr 1.0; "
        "assumed: 100 epochs with /10 every 30 (as Table 2's recipe), smoothing 0.1, BN frozen for the last "
        "5 epochs, wd 1e-4",
        epochs=100,
        batch_size=2048,
        lr=1.0,
        ref_batch=2048,
        weight_decay=1e-4,
        label_smoothing=0.1,
        freeze_bn_epochs=5,
    ),
    Recipe(
        "torchvision-v2",
        "not from the paper: torchvision's ResNet-50 v2 recipe (Vryniotis 2021, 'How to train state-of-the-art "
        "models using TorchVision's latest primitives'; 80.858% top-1 for ResNet-50, torchvision's metadata): "
        "SGD 0.9, lr 0.5 at batch 1024, 600 epochs, cosine after 5 linear warm-up epochs, wd 2e-5 and none on "
        "BN/bias, label smoothing 0.1, mixup 0.2, cutmix 1.0, TrivialAugmentWide, random erasing 0.1, EMA. "
        "Different here: EMA every step with decay 0.9999 (assumed; theirs 0.99998 every 32 steps), no "
        "repeated-augmentation sampler; train at 176 with --image-size 176 (their eval resize 232)",
        epochs=600,
        batch_size=1024,
        lr=0.5,
        ref_batch=1024,
        weight_decay=2e-5,
        schedule="cosine",
        warmup_epochs=5,
        label_smoothing=0.1,
        norm_weight_decay=0.0,
        mixup_alpha=0.2,
        cutmix_alpha=1.0,
        auto_augment="trivialaugment",
        random_erasing=0.1,
        ema_decay=0.9999,
    ),
    Recipe(
        "rsb-a3",
        "not from the paper: modelled on timm's ResNet strikes back A3 (Wightman et al. 2021; ResNet-50 78.1% "
        "top-1 at 224): 100 epochs, batch 2048, lr 8e-3, wd 0.02, cosine after 5 warm-up epochs, mixup 0.1, "
        "cutmix 1.0, RandAugment, trained at 160 (--image-size 160). Assumed: AdamW for LAMB and cross-entropy "
        "for BCE (neither is in PyTorch), RandAugment at torchvision's defaults, no decay on BN/bias",
        epochs=100,
        batch_size=2048,
        lr=8e-3,
        ref_batch=2048,
        weight_decay=0.02,
        optimizer="adamw",
        schedule="cosine",
        warmup_epochs=5,
        norm_weight_decay=0.0,
        mixup_alpha=0.1,
        cutmix_alpha=1.0,
        auto_augment="randaugment",
    ),
    Recipe(
        "finetune",
        "not from the paper: fine-tuning pretrained weights (senet train --init): a short cosine schedule at "
        "a tenth of the from-scratch rate with one warm-up epoch, as common practice (torchvision's and "
        "timm's fine-tuning examples); every value is ours",
        epochs=10,
        batch_size=64,
        lr=0.01,
        ref_batch=256,
        weight_decay=1e-4,
        schedule="cosine",
        warmup_epochs=1,
        crop_scale=(0.25, 1.0),
    ),
    Recipe(
        "digits",
        "not from the paper: the demo's recipe for the built-in 8x8 digits at 32x32 "
        "(SGD 0.9, lr 0.1 per 128, cosine, 12 epochs, wd 5e-4, shift jitter, no flips)",
        epochs=12,
        batch_size=64,
        lr=0.1,
        ref_batch=128,
        weight_decay=5e-4,
        schedule="cosine",
        augment="digits",
    ),
)
PUBLISHED = {  # what each recipe's source reports with it (PAPER.md sec. 6-7; the cited sources)
    "imagenet": "SE-ResNet-50 23.29/6.62, SE-ResNeXt-50 21.10/5.49 (Table 2, 224 crop)",
    "imagenet-ablation": "SE-ResNet-50 22.28/6.03 (Tables 10-16)",
    "mobile": "SE-MobileNet 25.3/7.7, SE-ShuffleNet 31.0/11.1 (Table 3)",
    "cifar-resnet": "SE-ResNet-110 5.21 (CIFAR-10) / 23.85 (CIFAR-100); SE-ResNet-164 4.39 / 21.31 (Tables 4-5)",
    "cifar-wrn": "SE-WRN-16-8 3.88 (CIFAR-10) / 19.14 (CIFAR-100) (Tables 4-5)",
    "cifar-shake": "SE-Shake-Shake 26 2x96d + Cutout 2.12 (CIFAR-10, Table 4)",
    "cifar-shake-even": "SE-Shake-Even 29 2x4x64d + Cutout 15.41 (CIFAR-100, Table 5)",
    "senet154": "SENet-154 18.68/4.47 at 224, 17.28/3.79 at 320 (Table 8)",
    "torchvision-v2": "ResNet-50 19.14 top-1 (80.858 % accuracy, torchvision's metadata)",
    "rsb-a3": "ResNet-50 21.9 top-1 (78.1 % accuracy at 224, Wightman et al.)",
}
RECIPES: dict[str, Recipe] = {
    r.name: dataclasses.replace(r, published=PUBLISHED.get(r.name, "")) for r in _RECIPES
}


OPTIMIZERS = ("sgd", "adamw", "rmsprop")
AUTO_AUGMENTS = ("none", "randaugment", "trivialaugment", "autoaugment")
CHOICES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES, "augment": AUGMENTS, "auto_augment": AUTO_AUGMENTS}
FIXED = ("name", "source", "published")  # what a recipe is, not how it trains
FLOAT32_MAX = 3.4028234663852886e38  # what the optimiser can hold: larger values overflow in torch


@dataclass(frozen=True)
class Rule:
    """The values one field takes: a kind, and a range (numbers, and each number of a tuple) or choices."""

    kind: type  # int, float, bool, str or tuple (of floats)
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # (low, ...: low itself refused
    high_open: bool = True  # ..., high): high itself refused
    choices: tuple = ()
    none: bool = False  # None allowed
    length: int | None = None  # tuples: how many numbers
    ordered: bool = False  # tuples: non-decreasing (min <= max)

    def range_text(self) -> str:
        num = (lambda v: str(v)) if self.kind is int else (lambda v: f"{v:g}")  # noqa: E731
        high = "inf" if self.high is None or self.high == FLOAT32_MAX else num(self.high)
        return f"{'(' if self.low_open else '['}{num(self.low)}, {high}{')' if self.high_open else ']'}"

    def _in_range(self, v) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        return self.high is None or v < self.high or (not self.high_open and v == self.high)

    def check(self, name: str, v):
        """``v`` if this rule takes it, else a :class:`SenetError` naming the range."""
        if v is None and self.none:
            return v
        if self.choices:
            if v not in self.choices:
                raise SenetError(f"{name} must be one of {', '.join(self.choices)}, got {v!r}")
            return v
        if self.kind is bool:
            if not isinstance(v, bool):
                raise SenetTypeError(
                    f"{name} must be True or False{' or None' if self.none else ''}, got {v!r}"
                )
            return v
        if self.kind is int:
            if not isinstance(v, int) or isinstance(v, bool) or not self._in_range(v):
                what = (
                    "a positive integer"
                    if (self.low, self.high) == (1, None)
                    else f"an integer >= {self.low}"
                    if self.high is None
                    else f"an integer in {self.range_text()}"
                )
                raise SenetError(f"{name} must be {what}, got {v!r}")
            return v
        if self.kind is tuple:
            ok = isinstance(v, tuple) and all(_finite(x) and self._in_range(x) for x in v)
            ok = ok and (self.length is None or len(v) == self.length)
            if not ok or (self.ordered and list(v) != sorted(v)):
                count = f"{self.length} numbers" if self.length else "numbers"
                order = ", the smaller first" if self.ordered else ""
                raise SenetError(f"{name} must be {count} in {self.range_text()}{order}, got {v!r}")
            return v
        if not _finite(v):
            raise SenetError(f"{name} must be a finite number, got {v!r}")
        if not self._in_range(v):
            raise SenetError(f"{name} must be in {self.range_text()}, got {v!r}")
        return v


def _finite(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


POSITIVE, COUNT = Rule(int, 1), Rule(int, 0)  # epochs, batches: at least 1; epochs of a phase: 0 is none
RATE, FRACTION = Rule(float, 0, None), Rule(float, 0, 1)  # [0, inf) and [0, 1)
# Every recipe field ``senet train --set`` takes, with the values its consumer accepts (torch's optimisers,
# schedules and transforms, and what makes a run at all); the same rules check the flags of the same name.
RULES: dict[str, Rule] = {
    "epochs": POSITIVE,
    "batch_size": POSITIVE,
    "lr": Rule(float, 0, FLOAT32_MAX, low_open=True),
    "ref_batch": POSITIVE,
    "weight_decay": Rule(float, 0, FLOAT32_MAX),
    "momentum": FRACTION,  # 1 never forgets a gradient, above 1 diverges
    "nesterov": Rule(bool),
    "schedule": Rule(str, choices=SCHEDULES),
    "step_epochs": POSITIVE,
    "milestones": Rule(tuple, 0, 1, low_open=True, ordered=True),  # fractions of the epochs
    "gamma": Rule(float, 0, 1, low_open=True, high_open=False),  # the factor the rate falls by: (0, 1]
    "plateau_patience": COUNT,
    "plateau_reductions": COUNT,
    "label_smoothing": FRACTION,
    "class_balanced": Rule(bool),
    "se_bias": Rule(bool, none=True),
    "augment": Rule(str, choices=AUGMENTS),
    "crop_scale": Rule(tuple, 0, 1, low_open=True, high_open=False, length=2, ordered=True),
    "crop_ratio": Rule(tuple, 0, 100, low_open=True, high_open=False, length=2, ordered=True),
    "cutout": COUNT,
    "freeze_bn_epochs": COUNT,
    "warmup_epochs": COUNT,
    "optimizer": Rule(str, choices=OPTIMIZERS),
    "norm_weight_decay": Rule(float, 0, FLOAT32_MAX, none=True),
    "clip_grad_norm": RATE,
    "mixup_alpha": RATE,
    "cutmix_alpha": RATE,
    "ema_decay": FRACTION,
    "auto_augment": Rule(str, choices=AUTO_AUGMENTS),
    "random_erasing": FRACTION,
    "drop_path_rate": FRACTION,
}


def settable() -> list[str]:
    """The recipe fields ``senet train --set KEY=VALUE`` takes."""
    return [f.name for f in dataclasses.fields(Recipe) if f.name not in FIXED]


def parse_sets(items) -> dict:
    """``["ema_decay=0.9998", "optimizer=adamw"]`` -> typed values, checked against the fields' rules."""
    out = {}
    keys = settable()
    for item in items or ():
        key, eq, text = str(item).partition("=")
        key = key.strip().replace("-", "_")
        if not eq or key not in keys:
            close = difflib.get_close_matches(key, keys, n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise SenetError(f"--set {item!r}: {hint}KEY=VALUE with KEY one of {', '.join(keys)}")
        text = text.strip()
        try:
            out[key] = RULES[key].check(key, _value(key, text))
        except SenetError as e:
            raise type(e)(f"--set {key}={text}: {e}") from None
    return out


def _value(key: str, text: str):
    rule = RULES[key]
    if rule.choices:
        if text not in rule.choices:
            raise SenetError(f"allowed are {', '.join(rule.choices)}")
        return text
    try:
        if text.lower() == "none" and rule.none:
            return None
        if rule.kind is bool:
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError
            return text.lower() in ("true", "1")
        if rule.kind is tuple:
            return tuple(float(v) for v in text.split(",") if v.strip())
        return rule.kind(text)
    except ValueError:
        what = {bool: "true or false", int: "an integer", float: "a number", tuple: "comma-separated numbers"}
        raise SenetError(f"{key} takes {what[rule.kind]}{' or none' if rule.none else ''}") from None


def with_sets(recipe: Recipe, sets: dict, epochs: int | None = None) -> Recipe:
    """The recipe with fields set by name, every field checked against its rule, and the fields checked
    against each other; ``epochs``: the run's (default: the recipe's)."""
    unknown = sorted(set(sets or {}) - set(RULES))
    if unknown:
        raise SenetError(f"{unknown} are not recipe fields; allowed: {', '.join(settable())}")
    r = dataclasses.replace(recipe, **sets) if sets else recipe
    for key in settable():
        RULES[key].check(key, getattr(r, key))
    check_together(r, sets or {}, epochs or r.epochs)
    return r


def check_together(r: Recipe, sets: dict, epochs: int) -> None:
    """Fields that must agree: a warm-up or BN freeze set for a run must be shorter than it (a preset's own
    is shortened with the run), Nesterov needs a momentum, a multistep schedule needs milestones."""
    if r.warmup_epochs and r.schedule == "plateau":
        raise SenetError(
            f"--set warmup_epochs={r.warmup_epochs}: the {r.name} recipe divides on a plateau, which torch's "
            "SequentialLR cannot follow a warm-up with; use --set schedule=cosine (or step) with a warm-up"
        )
    for key in ("warmup_epochs", "freeze_bn_epochs"):
        if key in sets and getattr(r, key) >= epochs:
            raise SenetError(
                f"--set {key}={getattr(r, key)} is not shorter than the run ({epochs} epoch(s)); "
                f"set it below {epochs} or give more --epochs"
            )
    if r.nesterov and r.optimizer == "sgd" and r.momentum == 0:
        raise SenetError("Nesterov needs a momentum: --set momentum=0.9 (or --set nesterov=false)")
    if r.schedule == "multistep" and not r.milestones:
        raise SenetError("the multistep schedule needs milestones: --set milestones=0.5,0.75 (fractions)")


def list_recipes() -> list[str]:
    """The names of the recipes, in the order of the paper's section 8."""
    return list(RECIPES)


def get_recipe(name: str) -> Recipe:
    """A recipe by name; an unknown name fails with the allowed ones."""
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise SenetError(f"unknown recipe {name!r}{hint} (allowed: {', '.join(RECIPES)})")
    return RECIPES[name]


def ablation_recipe(data: str, model: str | None = None) -> str:
    """The recipe of a study (Tables 10-16): on ImageNet-style folders the TPAMI ablations' (Sec. 6:
    ``imagenet-ablation``), whose errors the tables print beside ours; else as :func:`default_recipe`."""
    return "imagenet-ablation" if data.split(":", 1)[0] == "imagefolder" else default_recipe(data, model)


def default_recipe(data: str, model: str | None = None) -> str:
    """The recipe a run implies: on ImageNet-style folders and CIFAR, the model's own (its paper's, from
    ``model_info(model).recipe``), else by the data (imagenet, cifar-resnet); ``digits`` otherwise."""
    kind = data.split(":", 1)[0]
    if kind not in ("imagefolder", "cifar10", "cifar100"):
        return "digits"
    if model is not None:
        from ..models.factory import model_info

        own = model_info(model).recipe
        if own is not None and (kind == "imagefolder") == (not own.startswith("cifar")):
            return own
    return "imagenet" if kind == "imagefolder" else "cifar-resnet"
