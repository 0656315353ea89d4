"""Training: ``train(config) -> summary``, the epoch loop and the step, small and commented.

One AMP context, no flag branches inside the step: AMP, channels-last, DDP and accumulation are
decided once in ``state`` (the GradScaler is a pass-through unless fp16). The paper's recipes are in
``senet.engine.recipes``; the run directory's files in ``rundir``; checkpoints in ``checkpoint``. Launch with
``torchrun`` for DistributedDataParallel (``distributed``).
"""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path

import torch
from tqdm import tqdm

from .. import data as D
from ..core import distributed
from ..core.io import write_json
from ..errors import CheckpointError, DataError, SenetError, SenetTypeError
from ..evaluation.evaluator import evaluate_loader
from . import checkpoint as ckpt
from . import rundir
from . import state as S
from .config import TrainConfig
from .rundir import EMA_WEIGHTS, LAST, SUMMARY, TENSORBOARD, WEIGHTS, RunDir


class NonFiniteLoss(SenetError):
    """The loss or the weights became NaN or infinite: the run stops, the last good checkpoint stays."""


def train(config: TrainConfig | dict | None = None, **overrides) -> dict:
    """Train a model as ``config`` says and return the summary (also written to ``summary.json``).

    ``config`` is a :class:`TrainConfig`, a dict of its fields, or None with the fields as keywords:
    ``senet.train(model="se_resnet20_cifar", data="digits", epochs=2, out="runs/x")``.
    Under torchrun every rank calls this; rank 0 writes the files.
    """
    if isinstance(config, str):  # senet.train("se_resnet20_cifar", data="digits")
        config = {"model": config}
    if isinstance(config, dict) or config is None:
        config = TrainConfig.from_dict({**(config or {}), **overrides})
    elif isinstance(config, TrainConfig):
        config = TrainConfig.from_dict({**config.as_dict(), **overrides}) if overrides else config
    else:
        raise SenetTypeError(
            f"train needs a TrainConfig, a dict or a model name, got {type(config).__name__}"
        )
    with S.stop_on_signals() as signals:  # from here on: a signal during start-up ends it at once
        try:
            return _run(config, signals)
        except S.StoppedAtStartUp as e:
            name = signal.Signals(e.signum).name
            tqdm.write(f"senet train: {name} during start-up: stopped before the first step, nothing saved")
            return {"status": "stopped", "signal": e.signum, "epoch": None, "global_step": None}


def _run(config: TrainConfig, signals) -> dict:
    env = distributed.detect()
    device = distributed.device_for(env, config.device)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    run = RunDir(config.out or f"runs/{config.model}")
    try:
        distributed.setup(env, device)
        with run.hold() if env.is_main else contextlib.nullcontext(run):
            found = _checkpoint_to_resume(run, config)  # refusals first: before data and model are built
            torch.use_deterministic_algorithms(config.deterministic, warn_only=True)
            torch.backends.cudnn.benchmark = not config.deterministic
            session = S.build(config, env, device)
            done = _start(session, found)
            if done is not None:
                return done
            signals.session = session  # from the first step on, a signal saves a checkpoint and stops
            return fit(session)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
        distributed.teardown(env)


def _checkpoint_to_resume(run: RunDir, cfg: TrainConfig) -> tuple[Path, dict] | None:
    """The checkpoint to continue from, or None for a fresh start; anything else is refused.

    A directory that holds a run is never trained over without ``--resume``; with ``--resume auto``, a
    directory whose checkpoints are all unreadable, or that holds a run without checkpoints, is an error.
    """
    existing = run.existing()
    if cfg.resume and cfg.resume != "auto":
        path = Path(cfg.resume)
        inside = path.resolve().parent == run.path.resolve()
        if existing and not inside:
            raise SenetError(
                f"{run.path} holds another run ({', '.join(existing)}); resume {str(path)!r} into its own "
                "directory or into an empty --out"
            )
        return path, ckpt.load(path)
    if not cfg.resume:
        if existing:
            raise SenetError(
                f"{run.path} already holds a run ({', '.join(existing)}); continue it with --resume auto, "
                "or choose another --out"
            )
        return None
    found, errors = ckpt.find_resume(run.path)
    if found is None and errors:
        raise CheckpointError(
            f"--resume auto: every checkpoint in {run.path} is unreadable ({'; '.join(errors)}); "
            "remove them to start afresh, or choose another --out"
        )
    for e in errors:  # a readable checkpoint was found; say which one was passed over
        tqdm.write(f"senet train: skipping an unreadable checkpoint: {e}")
    if found is None and existing:
        raise SenetError(
            f"--resume auto: {run.path} holds {', '.join(existing)} but no checkpoint to continue from; "
            "choose another --out"
        )
    return found


def _start(s: S.Session, found: tuple[Path, dict] | None) -> dict | None:
    """Restore a checkpoint whose settings match; returns the summary if the run had already finished."""
    cfg, run = s.config, RunDir(s.out)
    if found:
        ckpt.check_compatible(found[1], cfg.model, len(s.classes), found[0])
        ckpt.check_settings(found[1], {**cfg.as_dict(), **s.resolved}, s.recipe, found[0])
        s.restore(found[1], found[0])
        _log(s, f"resumed from {found[0]} at epoch {s.epoch + 1}, step {s.step_in_epoch}")
        summary = run.summary()
        if s.epoch >= s.epochs and summary is not None:
            _log(s, f"{s.out} has already finished; its summary is {run / SUMMARY}")
            return summary
    if s.env.is_main:
        rundir.write_config(s.out, {**cfg.as_dict(), **s.resolved}, s.recipe.as_dict())
    return None


def fit(s: S.Session) -> dict:
    """Epochs of training and evaluation; checkpoints after each; the summary at the end."""
    writer = None
    if s.env.is_main and s.config.tensorboard:
        # scalars are logged per epoch, so a resumed run purges what came after its last finished epoch
        writer = S.tensorboard_writer_cls()(str(s.out / TENSORBOARD), purge_step=s.epoch + 1)
    last = None  # the last epoch's validation: the final evaluation when nothing trained since
    try:
        with S.stop_on_signals(s):
            while s.epoch < s.epochs:
                start = time.perf_counter()
                train_sums = train_one_epoch(s)
                s.train_time_s += time.perf_counter() - start
                if train_sums is None:  # stopped (signal or max_steps): save and leave
                    s.save()
                    _log(
                        s,
                        f"stopped at epoch {s.epoch + 1}, step {s.step_in_epoch}: {s.out / LAST} "
                        "saved; continue with --resume auto",
                    )
                    return {
                        "status": "stopped",
                        "signal": s.stop_requested,  # 0: stopped by --max-steps
                        "epoch": s.epoch,
                        "global_step": s.global_step,
                    }
                last = _end_epoch(s, train_sums, time.perf_counter() - start, writer)
    finally:
        if writer is not None:
            writer.close()
    return _finish(s, last)


def train_one_epoch(s: S.Session) -> torch.Tensor | None:
    """One pass over this rank's share of the data; returns the summed train stats, or None if stopped."""
    s.net.train()
    if s.epoch >= s.epochs - s.recipe.freeze_bn_epochs:  # SENet-154's recipe: BN statistics frozen at the end
        for m in s.model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()
    frozen = S.backbone_frozen(s)
    if frozen:  # fine-tuning: the backbone as it came (BN statistics too), only the classifier learns
        s.model.eval()
        s.model.fc.train()
    accum, cfg = s.config.accum_steps, s.config
    loader = _epoch_loader(s)
    steps = _steps_per_epoch(s)
    sums = s.epoch_sums if s.epoch_sums is not None else torch.zeros(4, dtype=torch.float64)
    sums = sums.to(s.device)  # loss * n, top-1 hits, n, skipped images
    bar = tqdm(
        total=steps,
        initial=s.step_in_epoch,
        desc=f"epoch {s.epoch + 1}/{s.epochs}",
        unit="step",
        disable=not (s.env.is_main and cfg.progress),
        dynamic_ncols=True,
        leave=False,
    )
    tick, seen = time.perf_counter(), 0
    with D.batches(loader) as batches:  # its workers end here on every way out
        while s.step_in_epoch < steps:
            limit = s.config.max_steps is not None and s.global_step >= s.config.max_steps
            # SIGTERM/SIGINT or --max-steps
            if distributed.any_rank(bool(s.stop_requested) or limit, s.device):
                bar.close()
                _check_finite(s, sums)  # never save a diverged state over the last good checkpoint
                s.epoch_sums = sums.cpu()
                return None
            for micro in range(accum):
                images, targets, skipped = next(batches)
                if len(targets) == 0:
                    raise DataError(f"a whole batch of {skipped} images was unreadable; check the dataset")
                images = images.to(s.device, non_blocking=True, memory_format=s.memory_format)
                targets = targets.to(s.device, non_blocking=True)
                # 1. Forward under the one AMP context. DDP all-reduces gradients only on the last micro-batch.
                sync = contextlib.nullcontext() if micro == accum - 1 else _no_sync(s.net)
                with sync:
                    soft = targets
                    if s.mix is not None:  # MixUp/CutMix: mixed images, soft targets (accuracy on hard ones)
                        images, soft = _mix(s, images, targets, micro)
                    with s.autocast():
                        logits = s.net(images)
                        loss = s.criterion(logits.float(), soft)
                    # 2. Backward of the loss / accum: accumulated gradients average over the global batch.
                    #    The scaler multiplies the loss for fp16 and is a pass-through otherwise.
                    s.scaler.scale(loss / accum).backward()
                n = len(targets)
                sums += torch.stack(
                    [
                        loss.detach().double() * n,
                        (logits.argmax(1) == targets).sum().double(),
                        torch.tensor(n, dtype=torch.float64, device=s.device),
                        torch.tensor(skipped, dtype=torch.float64, device=s.device),
                    ]
                )
                seen += n
            # 3. Step: unscale (fp16), skip the step if gradients overflowed, update the scale, clear grads.
            #    A frozen backbone's gradients are dropped: SGD skips parameters without one (no decay either).
            if frozen:
                for name, p in s.model.named_parameters():
                    if not name.startswith("fc."):
                        p.grad = None
            if s.recipe.clip_grad_norm:
                from .modern import clip_gradients

                clip_gradients(s.optimizer, s.scaler, s.recipe.clip_grad_norm)
            s.scaler.step(s.optimizer)
            s.scaler.update()
            if s.ema is not None:
                s.ema.update_parameters(s.model)
            s.optimizer.zero_grad(set_to_none=True)
            s.step_in_epoch += 1
            s.global_step += 1
            # 4. Every few steps: check the loss is finite (all ranks agree) and refresh the progress bar.
            if s.step_in_epoch % 10 == 0 or s.step_in_epoch == steps:
                _check_finite(s, sums)
                rate = seen * s.env.world_size / (time.perf_counter() - tick)
                bar.set_postfix(
                    loss=f"{sums[0].item() / sums[2].item():.4f}",
                    acc=f"{100 * sums[1].item() / sums[2].item():.2f}%",
                    img_s=f"{rate:.0f}",
                )
            bar.update(1)
    bar.close()
    _check_finite(s, sums)
    return distributed.all_reduce_sum(sums.clone())


def _mix(s: S.Session, images, targets, micro: int):
    """MixUp/CutMix drawn from a generator seeded by (seed, the micro-batch's place in the global order):
    the same mixing for any number of ranks and accumulation steps, and after a resume."""
    place = (s.global_step * s.config.accum_steps + micro) * s.env.world_size + s.env.rank
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.config.seed * 1_000_003 + place)
        return s.mix(images, targets)


def _no_sync(net):
    no_sync = getattr(getattr(net, "_orig_mod", net), "no_sync", None)
    return no_sync() if no_sync is not None else contextlib.nullcontext()


def _check_finite(s: S.Session, sums: torch.Tensor) -> None:
    """Stop (all ranks agree) when the loss or any weight or BN statistic is NaN or infinite: nothing
    non-finite is ever saved, and the message names the last checkpoint that was saved finite."""
    state = [t for t in s.model.state_dict().values() if t.is_floating_point()]
    finite = torch.stack([torch.isfinite(sums[0]), *(torch.isfinite(t).all() for t in state)]).all()
    if distributed.any_rank(not finite.item(), s.device):
        what = "loss" if not torch.isfinite(sums[0]) else "weights"
        raise NonFiniteLoss(
            f"the {what} became non-finite in epoch {s.epoch + 1} (step {s.global_step}); stopped without "
            f"saving: {_last_good(s)}. Lower --lr or drop --amp fp16"
        )


def _last_good(s: S.Session) -> str:
    if s.last_good:
        return f"{s.last_good} is the last good state"
    return "no checkpoint had been saved, so none holds a non-finite value"


class _Watched(torch.nn.Module):
    """``net``, noting whether any output it gives is NaN or infinite (finite weights can answer inf)."""

    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.net = net
        self.non_finite = False

    def forward(self, x):
        y = self.net(x)
        self.non_finite = self.non_finite | ~torch.isfinite(y).all()
        return y


def _steps_per_epoch(s: S.Session) -> int:
    batches = len(s.sampler) // s.micro_batch
    if s.config.max_batches:
        batches = min(batches, s.config.max_batches)
    steps = batches // s.config.accum_steps
    if steps < 1:
        raise SenetError(
            f"the training set ({len(s.train_set)} images) is smaller than one global batch "
            f"({s.resolved['batch_size']}); lower --batch-size"
        )
    return steps


def _epoch_loader(s: S.Session):
    """This epoch's loader: the sampler's order depends on (seed, epoch) only; a resume skips what was done."""
    s.sampler.set_epoch(s.epoch)
    s.train_set.set_epoch(s.epoch)  # before the workers copy the dataset
    done = s.step_in_epoch * s.config.accum_steps * s.micro_batch
    sampler = D.SkipFirst(s.sampler, done) if done else s.sampler
    seed = s.config.seed * 1_000_003 + s.env.rank * 10_007 + s.epoch  # worker seeds for this epoch
    return D.loader(s.train_set, s.micro_batch, sampler, s.config.workers, s.device.type == "cuda", seed)


def _end_epoch(s: S.Session, sums: torch.Tensor, seconds: float, writer) -> dict:
    """Evaluate, log one row, step the schedule, save last (and best); return the evaluation."""
    val = _evaluate(s)
    loss, hits, n, skipped = sums.tolist()
    row = {
        "epoch": s.epoch + 1,
        "train_loss": loss / n,
        "train_top1_error": 100 * (1 - hits / n),
        "val_loss": val["loss"],
        "val_top1_error": val["top1_error"],
        "val_top5_error": val["top5_error"],
        "lr": s.optimizer.param_groups[0]["lr"],
        "epoch_time_s": seconds,
        "images_per_s": n / seconds,
        "skipped": int(skipped) + val["skipped"],
    }
    if s.ema is not None:  # the averaged weights, evaluated beside the raw ones
        ema = _evaluate(s, s.ema.module)
        row.update(ema_top1_error=ema["top1_error"], ema_top5_error=ema["top5_error"])
    s.history.append(row)
    S.step_scheduler(s.scheduler, val["loss"])
    best = val["top1_error"] < s.best_top1_error
    if best:
        s.best_top1_error, s.best_epoch = val["top1_error"], s.epoch + 1
    s.epoch, s.step_in_epoch, s.epoch_sums = s.epoch + 1, 0, None
    s.save(best=best)
    if s.env.is_main:
        rundir.write_metrics(s.out, s.history)
        rundir.log_scalars(writer, row, s.epoch)
        skipped_note = f", {row['skipped']} unreadable images skipped" if row["skipped"] else ""
        _log(
            s,
            f"epoch {row['epoch']}/{s.epochs}: train loss {row['train_loss']:.4f} err "
            f"{row['train_top1_error']:.2f}% | val loss {row['val_loss']:.4f} top-1 {row['val_top1_error']:.2f}% "
            f"top-5 {row['val_top5_error']:.2f}% | {row['images_per_s']:.0f} img/s{skipped_note}",
        )
    return val


def _evaluate(s: S.Session, net=None) -> dict:
    """The validation set's loss and errors; a model that answers NaN or inf there (or whose loss is not
    finite) stops the run before anything is saved or marked best, naming the last good checkpoint."""
    val = D.eval_subset(s.val_set, s.env.world_size, s.env.rank)
    loader = D.loader(val, max(s.micro_batch, 64), workers=s.config.workers, pin=s.device.type == "cuda")
    watched = _Watched(net or s.net)  # evaluate_loader ends the loader's workers on every way out
    out = evaluate_loader(watched, loader, s.device, len(s.classes), s.autocast, s.memory_format)
    numbers = torch.tensor([out["loss"], out["top1_error"], out["top5_error"]])
    finite = torch.isfinite(numbers).all() and not bool(watched.non_finite)
    if distributed.any_rank(not finite, s.device):
        model = "EMA model" if net is not None and net is not s.net else "model"
        raise NonFiniteLoss(
            f"the {model}'s outputs on the validation set became non-finite after step {s.global_step} "
            f"(validation loss {out['loss']:.4g}); stopped without saving: {_last_good(s)}. "
            "Lower --lr or drop --amp fp16"
        )
    return out


def _finish(s: S.Session, last: dict | None = None) -> dict:
    """Final evaluation, model.safetensors, curves.png, then summary.json (last: it marks a finished run).
    ``last``: the last epoch's evaluation of these same weights (nothing trains in between), reused; a
    resumed run that had finished its epochs evaluates again."""
    from ..hub.weights import save_weights

    final = last if last is not None else _evaluate(s)
    summary = {
        "model": s.config.model,
        "data": s.config.data,
        "recipe": s.recipe.name,
        "epochs": s.epochs,
        "batch_size": s.resolved["batch_size"],
        "lr": s.resolved["lr"],
        "world_size": s.env.world_size,
        "model_options": s.resolved["model_options"],
        "num_classes": len(s.classes),
        "classes": s.classes,
        "params": sum(p.numel() for p in s.model.parameters()),
        "top1_error": final["top1_error"],
        "top5_error": final["top5_error"],
        "loss": final["loss"],
        "per_class_accuracy": final["per_class_accuracy"],
        "best_top1_error": s.best_top1_error,
        "best_epoch": s.best_epoch,
        "train_time_s": s.train_time_s,
        "global_step": s.global_step,
        "out": str(s.out),
        "status": "finished",
    }
    if s.ema is not None:  # the last epoch evaluated these same averaged weights
        summary.update({k: s.history[-1][k] for k in ("ema_top1_error", "ema_top5_error")})
    if s.env.is_main:
        save_weights(s.model, s.out / WEIGHTS, classes=s.classes)
        if s.ema is not None:
            save_weights(s.ema.module, s.out / EMA_WEIGHTS, classes=s.classes)
        rundir.write_curves(s.out, s.history, f"{s.config.model} on {s.config.data}")
        write_json(summary, s.out / SUMMARY)
        _log(
            s,
            f"done: top-1 error {final['top1_error']:.2f}%, top-5 error {final['top5_error']:.2f}%; "
            f"run directory {s.out}",
        )
    distributed.barrier()
    return summary


def _log(s: S.Session, msg: str) -> None:
    if s.env.is_main:
        tqdm.write(f"senet train: {msg}")
