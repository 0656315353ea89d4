"""Everything a training run holds between steps, built from a :class:`TrainConfig`, saved and restored.

The engine's loop reads a ``Session``; this module builds data, model, optimiser, schedule and AMP
scaler from the resolved config, and turns the whole state into a checkpoint and back (``checkpoint``).
"""

from __future__ import annotations

import contextlib
import functools
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .. import data as D
from ..core import distributed
from ..core.runtime import autocast
from ..hub.weights import model_card
from . import checkpoint as ckpt
from .config import TrainConfig, init_tag, model_options, resolve, views_for
from .recipes import Recipe
from .rundir import BEST, LAST


@dataclass
class Session:
    config: TrainConfig
    recipe: Recipe
    resolved: dict  # the numbers actually used (config.json)
    env: distributed.DistEnv
    device: torch.device
    out: Path
    model: nn.Module  # the bare model (its state_dict is what is saved)
    net: nn.Module  # what the loop calls: DDP and/or torch.compile around ``model``
    optimizer: torch.optim.Optimizer
    scheduler: object
    scaler: torch.amp.GradScaler
    criterion: nn.Module
    train_set: object
    val_set: object
    classes: list[str]
    sampler: object
    epoch: int = 0  # the epoch in progress (0-based)
    step_in_epoch: int = 0  # optimizer steps done in it
    global_step: int = 0
    best_top1_error: float = float("inf")
    best_epoch: int = -1
    history: list[dict] = field(default_factory=list)
    epoch_sums: torch.Tensor | None = None  # train loss*n, hits, n, skipped of the epoch in progress
    train_time_s: float = 0.0
    stop_requested: int = 0  # the signal (SIGTERM, SIGINT) that asked the run to save and stop, 0: none
    last_good: str | None = None  # the last checkpoint saved or resumed from (every one is finite)
    ema: nn.Module | None = None  # AveragedModel of the weights (recipe.ema_decay)
    mix: object = None  # MixUp/CutMix on a batch (recipe.mixup_alpha, cutmix_alpha)

    @property
    def epochs(self) -> int:
        return self.resolved["epochs"]

    @property
    def micro_batch(self) -> int:
        return self.resolved["micro_batch"]

    def autocast(self):
        """The one AMP context of the loop (a null context without --amp)."""
        return autocast(self.device.type, self.config.amp)

    @property
    def memory_format(self):
        return torch.channels_last if self.config.channels_last else torch.contiguous_format

    # ---- checkpoints ------------------------------------------------------------------------------------
    def state(self, ranks: list[dict]) -> dict:
        """The full training state as tensors, numbers, strings and lists (weights_only-loadable).

        ``ranks``: each rank's own RNG state and partial epoch sums (a stop mid-epoch saves every rank's).
        """
        return {
            "format": ckpt.FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step_in_epoch": self.step_in_epoch,
            "global_step": self.global_step,
            "best_top1_error": self.best_top1_error,
            "best_epoch": self.best_epoch,
            "history": self.history,
            "train_time_s": self.train_time_s,
            "ranks": ranks,
            "num_classes": len(self.classes),
            "classes": list(self.classes),
            "card": model_card(self.model, self.classes),  # what the weights are (senet.hub.weights)
            **({"ema": self.ema.state_dict()} if self.ema is not None else {}),
            "config": {**self.config.as_dict(), **self.resolved},
        }

    def restore(self, state: dict, path) -> None:
        """Continue from a checkpoint of the same model and class count (settings checked by the caller).

        Each rank takes back its own RNG state and partial epoch sums when the world size is the same; with
        another world size the partial sums go to rank 0 (their all-reduce is the same) and each rank's RNG
        is seeded from (seed, rank, step): data augmentation does not depend on it (``senet.data``).
        """
        from ..hub.weights import load_weights

        ckpt.check_compatible(state, self.config.model, len(self.classes), path)
        load_weights(self.model, state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        for k in ("epoch", "step_in_epoch", "global_step", "best_top1_error", "best_epoch", "history"):
            setattr(self, k, state[k])
        self.train_time_s = state["train_time_s"]
        ranks = state.get("ranks") or [{"rng": state["rng"], "epoch_sums": state.get("epoch_sums")}]
        rank, world = self.env.rank, self.env.world_size
        if len(ranks) == world:
            ckpt.set_rng_state(ranks[rank]["rng"])
            self.epoch_sums = ranks[rank]["epoch_sums"]
        else:
            torch.manual_seed(self.config.seed * 1_000_003 + rank * 10_007 + self.global_step)
            parts = [r["epoch_sums"] for r in ranks if r["epoch_sums"] is not None]
            self.epoch_sums = (
                (torch.stack(parts).sum(0) if rank == 0 else torch.zeros_like(parts[0])) if parts else None
            )
        self.last_good = str(path)

    def save(self, best: bool = False) -> None:
        """Rank 0 writes checkpoint_last.pt atomically (and copies it to checkpoint_best.pt); every rank
        contributes its RNG state and partial sums (a collective: every rank calls this)."""
        ranks = distributed.gather({"rng": ckpt.rng_state(), "epoch_sums": self.epoch_sums})
        self.last_good = str(self.out / LAST)
        if not self.env.is_main:
            return
        last = ckpt.save(self.state(ranks), self.out / LAST)
        if best:
            import shutil

            from ..core.io import atomic_write

            atomic_write(self.out / BEST, lambda tmp: shutil.copyfile(last, tmp))


# ---- building a session ---------------------------------------------------------------------------------
def build(config: TrainConfig, env: distributed.DistEnv, device: torch.device) -> Session:
    """Data, model (seeded), DDP, optimiser, schedule and scaler for a run."""
    from ..models.factory import create_model

    recipe, resolved = resolve(config, env)
    views = views_for(config, recipe, resolved["image_size"])
    train_set, val_set, classes, (mean, std) = D.build(config.data, views, config.strict)
    train_set = D.Seeded(train_set, config.seed)  # augmentation by (seed, epoch, index): resumable
    resolved["model_options"] = model_options(config, recipe)
    torch.manual_seed(config.seed)  # the same initial weights on every rank and every run
    model = create_model(config.model, num_classes=len(classes), **resolved["model_options"])
    resolved["reinitialized"] = _init(model, config, env) if config.init is not None else []
    if config.grad_checkpointing:
        model.set_grad_checkpointing(True)
    size = resolved["image_size"]  # what this run shows the model: saved in every card (senet.hub.weights)
    crop_pct = views.eval_crop / views.eval_resize if views.eval_resize else 1.0
    model.default_cfg.update(
        input_size=(3, size, size),
        crop_pct=crop_pct,
        interpolation="bilinear",
        mean=tuple(mean),
        std=tuple(std),
    )
    model = model.to(
        device, memory_format=torch.channels_last if config.channels_last else torch.contiguous_format
    )
    net = distributed.wrap(model, env, device, config.sync_bn)
    model = net.module if env.enabled else model  # SyncBN conversion makes a new module
    net = torch.compile(net) if config.compile else net
    from .modern import batch_mixer, ema_model, make_optimizer

    optimizer = make_optimizer(model, recipe, resolved["lr"], resolved["weight_decay"])
    sampler = D.train_sampler(
        train_set, resolved["class_balanced"], resolved["micro_batch"], env.world_size, env.rank, config.seed
    )
    torch.manual_seed(config.seed + env.rank)  # augmentation and dropout differ between ranks
    return Session(
        config,
        recipe,
        resolved,
        env,
        device,
        Path(resolved["out"]),
        model,
        net,
        optimizer,
        make_scheduler(optimizer, recipe, resolved["epochs"], resolved["lr"]),
        torch.amp.GradScaler(device.type, enabled=config.amp == "fp16"),
        nn.CrossEntropyLoss(label_smoothing=resolved["label_smoothing"]),
        train_set,
        val_set,
        classes,
        sampler,
        ema=ema_model(model, recipe.ema_decay),
        mix=batch_mixer(recipe, len(classes)),
    )


def _init(model: nn.Module, config: TrainConfig, env) -> list[str]:
    """Fine-tuning: the weights of ``config.init`` (a file, or ``pretrained:TAG``), a classifier of another
    class count left to its fresh initialisation; returns the names of the re-initialised tensors."""
    from ..hub.pretrained import download
    from ..hub.weights import init_from

    tag = init_tag(config)
    path = download(tag, progress=config.progress and env.is_main) if tag else config.init
    fresh = init_from(model, path)
    if env.is_main:
        what = (
            f"re-initialised {', '.join(fresh)} (another number of classes)"
            if fresh
            else "every tensor loaded"
        )
        print(f"senet train: started from {tag.name if tag else path}: {what}", flush=True)
    return fresh


def backbone_frozen(session) -> bool:
    """In the first ``freeze_backbone`` epochs only the classifier learns (fine-tuning)."""
    return session.epoch < session.config.freeze_backbone


def make_scheduler(optimizer, recipe: Recipe, epochs: int, lr: float):
    """Per-epoch schedules of sec. 8: /10 every 30 epochs, milestones, cosine, or /10 on plateau; with
    ``recipe.warmup_epochs`` a linear warm-up from a tenth of the rate comes first (``SequentialLR``)."""
    S = torch.optim.lr_scheduler
    warm = min(recipe.warmup_epochs, epochs - 1)  # a run as short as the warm-up keeps one epoch of schedule
    if warm and recipe.schedule != "plateau":
        main = _schedule(optimizer, recipe, epochs - warm, lr)
        ramp = S.LinearLR(optimizer, start_factor=0.1, total_iters=warm)
        return S.SequentialLR(optimizer, [ramp, main], milestones=[warm])
    return _schedule(optimizer, recipe, epochs, lr)


def _schedule(optimizer, recipe: Recipe, epochs: int, lr: float):
    S = torch.optim.lr_scheduler
    return {
        "step": lambda: S.StepLR(optimizer, recipe.step_epochs, recipe.gamma),
        "multistep": lambda: S.MultiStepLR(
            optimizer, [max(1, round(f * epochs)) for f in recipe.milestones], recipe.gamma
        ),
        "cosine": lambda: S.CosineAnnealingLR(optimizer, epochs),
        "plateau": lambda: S.ReduceLROnPlateau(
            optimizer,
            "min",
            recipe.gamma,
            recipe.plateau_patience,
            min_lr=lr * recipe.gamma**recipe.plateau_reductions,
        ),
    }[recipe.schedule]()


def step_scheduler(scheduler, val_loss: float) -> None:
    """Advance the schedule one epoch (the plateau schedule watches the validation loss)."""
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    else:
        scheduler.step()


class StoppedAtStartUp(KeyboardInterrupt):
    """SIGTERM/SIGINT before the run's loop began: start-up ends at once, nothing trained or saved."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _Handler:
    """What SIGTERM/SIGINT do: with no ``session`` yet (start-up) raise :class:`StoppedAtStartUp`; then ask
    the session to save and stop (``stop_requested``); a second SIGINT aborts."""

    def __init__(self, session=None):
        self.session = session

    def __call__(self, signum, frame):
        if self.session is None:
            raise StoppedAtStartUp(signum)
        if self.session.stop_requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.session.stop_requested = signum


@contextlib.contextmanager
def stop_on_signals(session=None):
    """SIGTERM/SIGINT ask ``session``'s loop to save a checkpoint and stop (preemption); a second SIGINT
    aborts. Without a session yet (a run starting up) they end the start-up at once; set the yielded
    handler's ``session`` when the loop takes over. Installed whatever the process inherited: a script's
    background job starts with SIGINT ignored, and the run must still stop."""
    handler = _Handler(session)
    if threading.current_thread() is not threading.main_thread():
        yield handler
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield handler
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@functools.cache
def tensorboard_writer_cls():
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter
