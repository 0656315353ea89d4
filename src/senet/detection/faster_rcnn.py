"""The paper's Table 7: Faster R-CNN + FPN with an SE backbone (or its plain twin) on COCO-format data.

Data: ``coco:ROOT`` with ``ROOT/annotations/instances_<split>.json`` and the images in ``ROOT/<split>/``
(COCO 2017: ``train2017``, ``val2017``), read by torchvision's ``CocoDetection``; labels are the COCO
category ids (torchvision's convention: 91 outputs for COCO). The model is torchvision's ``FasterRCNN`` on
:func:`senet.backbone` (FPN, BatchNorm frozen, three trainable stages). AP, AP50, AP75, ... come from
``pycocotools``' ``COCOeval``, the standard evaluator.

The run uses the classification engine's parts: the run directory (lock, refusals, atomic files, a failed
start leaves nothing), checkpoints and ``--resume auto`` with the settings checked, torchrun
(DistributedDataParallel, each rank a share of the images), AMP, the stop on SIGTERM/Ctrl-C, one-line
errors. A run stopped mid-epoch resumes from its last finished epoch. The recipe is Detectron's 1x
schedule (:data:`RECIPE`: SGD 0.9, lr 0.02 per 16 images, weight decay 1e-4, 12 epochs, /10 at 8 and 11),
the schedule of the Faster R-CNN baselines the paper compares with.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..data.samplers import batches
from ..errors import CheckpointError, DataError, SenetError

# Detectron's 1x: 12 epochs (90k iterations at batch 16), the rate divided by 10 at 8 and 11.
RECIPE = {"epochs": 12, "milestones": (8, 11), "lr_per_16": 0.02, "momentum": 0.9, "weight_decay": 1e-4}
PAPER_TABLE7 = {  # COCO minival, AP@0.5 / AP (PAPER.md sec. 6)
    "resnet50": (57.9, 38.0),
    "se_resnet50": (61.0, 40.4),
    "resnet101": (60.1, 39.9),
    "se_resnet101": (62.7, 41.9),
}
STATS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")


@dataclass(frozen=True)
class DetectConfig:
    model: str = "se_resnet50"
    data: str = ""
    out: str | None = None
    epochs: int = RECIPE["epochs"]
    batch_size: int = 16  # global
    lr: float | None = None  # default: 0.02 per 16 images
    pretrained: object = None  # the backbone's weights: True or a tag (senet list --pretrained)
    trainable_stages: int = 3
    min_size: int = 800
    max_size: int = 1333
    train_split: str = "train2017"
    val_split: str = "val2017"
    resume: str | None = None
    seed: int = 0
    amp: str | None = None
    device: str | None = None
    workers: int = 2
    max_steps: int | None = None
    max_batches: int | None = None
    grad_checkpointing: bool = False
    progress: bool = True

    def __post_init__(self):
        for name in ("epochs", "batch_size", "min_size", "max_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise SenetError(f"{name} must be a positive integer, got {v!r}")
        if self.lr is not None and not (isinstance(self.lr, int | float) and 0 < self.lr < 1e6):
            raise SenetError(f"lr must be a positive number, got {self.lr!r}")


COMPUTED = ("model", "data", "batch_size", "lr", "pretrained", "trainable_stages", "min_size", "max_size",
            "train_split", "seed", "amp", "max_batches", "grad_checkpointing")  # fmt: skip


def coco(spec: str, split: str):
    """A COCO-format split as torchvision gives it to detection models (boxes XYXY, labels)."""
    kind, _, root = spec.partition(":")
    if kind != "coco" or not root:
        raise DataError(f"detection data is coco:ROOT (annotations/instances_<split>.json), got {spec!r}")
    root = Path(root).expanduser()
    ann, images = root / "annotations" / f"instances_{split}.json", root / split
    for p in (ann, images):
        if not p.exists():
            raise DataError(
                f"{p} does not exist (coco:ROOT needs annotations/instances_{split}.json and {split}/)"
            )
    try:
        import pycocotools  # noqa: F401  (CocoDetection and COCOeval read COCO files with it)
    except ImportError:
        raise DataError("COCO data needs pycocotools: pip install 'senet[detect]' (or pycocotools)") from None
    from torchvision.datasets import CocoDetection, wrap_dataset_for_transforms_v2

    try:
        with contextlib.redirect_stdout(None):  # pycocotools prints its progress
            ds = CocoDetection(str(images), str(ann))
    except (ValueError, AssertionError, KeyError, TypeError) as e:  # JSON or COCO format errors
        raise DataError(
            f"{ann} is not a COCO annotation file ({type(e).__name__}: {str(e).splitlines()[0]})"
        ) from None
    if not ds.coco.getAnnIds():
        raise DataError(f"{ann} holds no annotations: nothing to train on or to evaluate against")
    return _Boxed(wrap_dataset_for_transforms_v2(ds, target_keys=("image_id", "boxes", "labels")))


class _Boxed(torch.utils.data.Dataset):
    """Every image with ``boxes`` and ``labels`` (empty for an image without annotations, as torchvision's
    detection models take negatives), degenerate boxes (no width or height) dropped with their labels."""

    def __init__(self, ds):
        from torchvision.transforms import v2

        self.ds, self.coco = ds, ds.coco
        self.tf = v2.Compose(
            [v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.SanitizeBoundingBoxes()]
        )

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        from torchvision import tv_tensors

        image, target = self.ds[i]
        if "boxes" not in target:
            h, w = image.height, image.width
            target = {**target, "boxes": tv_tensors.BoundingBoxes(torch.zeros(0, 4), format="XYXY", canvas_size=(h, w)),
                      "labels": torch.zeros(0, dtype=torch.int64)}  # fmt: skip
        return self.tf(image, target)


def _collate(batch):
    return tuple(zip(*batch))


def build_model(cfg: DetectConfig, num_classes: int):
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    from ..models.backbones import backbone

    body = backbone(cfg.model, pretrained=cfg.pretrained, trainable_stages=cfg.trainable_stages)
    if cfg.grad_checkpointing:
        body.body.set_grad_checkpointing(True)
    levels = len(body.keys) + 1  # the FPN's maps and its max-pooled extra level
    anchors = AnchorGenerator(tuple((32 * 2**i,) for i in range(levels)), ((0.5, 1.0, 2.0),) * levels)
    return FasterRCNN(
        body,
        num_classes=num_classes,
        min_size=cfg.min_size,
        max_size=cfg.max_size,
        rpn_anchor_generator=anchors,
    )


def _num_classes(ds) -> int:
    return max(ds.coco.getCatIds() or [0]) + 1  # category ids are the labels; 0 is the background


def train(config: DetectConfig | dict | None = None, **overrides) -> dict:
    """Train Faster R-CNN + FPN as ``config`` says; evaluates with COCOeval after every epoch; returns the
    summary (``summary.json``). Under torchrun every rank calls this."""
    from ..core import distributed
    from ..core.io import torch_load_safely, torch_save, write_json
    from ..core.runtime import autocast, check_amp
    from ..engine.rundir import CONFIG, LAST, SUMMARY, WEIGHTS, RunDir

    cfg = config if isinstance(config, DetectConfig) else DetectConfig(**{**(config or {}), **overrides})
    check_amp(cfg.amp)
    env = distributed.detect()
    device = distributed.device_for(env, cfg.device)
    distributed.setup(env, device)
    run = RunDir(cfg.out or f"runs/detect_{cfg.model}")
    try:
        with run.hold() if env.is_main else contextlib.nullcontext(run):
            state = None
            if cfg.resume:
                path = run / LAST if cfg.resume == "auto" else Path(cfg.resume)
                if path.is_file():
                    state = torch_load_safely(path)
                    diff = [f"{k}: {state['config'][k]!r} -> {asdict(cfg)[k]!r}" for k in COMPUTED
                            if json.dumps(state["config"].get(k), default=str) != json.dumps(asdict(cfg)[k], default=str)]  # fmt: skip
                    if diff:
                        raise CheckpointError(f"{path} was trained with other settings: {'; '.join(diff)}")
                elif cfg.resume != "auto":
                    raise SenetError(f"checkpoint {str(path)!r} does not exist")
            elif run.existing():
                raise SenetError(
                    f"{run.path} holds a run ({', '.join(run.existing())}); --resume auto or another --out"
                )
            train_ds, val_ds = coco(cfg.data, cfg.train_split), coco(cfg.data, cfg.val_split)
            torch.manual_seed(cfg.seed)
            num_classes = _num_classes(train_ds)
            model = build_model(cfg, num_classes).to(device)
            net = distributed.wrap(model, env, device, False)
            params = [p for p in model.parameters() if p.requires_grad]
            lr = cfg.lr or RECIPE["lr_per_16"] * cfg.batch_size / 16
            opt = torch.optim.SGD(
                params, lr=lr, momentum=RECIPE["momentum"], weight_decay=RECIPE["weight_decay"]
            )
            miles = [round(m * cfg.epochs / RECIPE["epochs"]) for m in RECIPE["milestones"]]
            sched = torch.optim.lr_scheduler.MultiStepLR(opt, miles, 0.1)
            epoch, history, skip = 0, [], 0
            if state is not None:
                from ..engine.checkpoint import set_rng_state

                model.load_state_dict(state["model"])
                opt.load_state_dict(state["optimizer"])
                sched.load_state_dict(state["scheduler"])
                epoch, history, skip = state["epoch"], state["history"], state.get("step", 0)
                set_rng_state(state["rng"])
            if env.is_main:
                write_json({"config": asdict(cfg), "recipe": RECIPE}, run / CONFIG)
            per_rank = max(1, cfg.batch_size // env.world_size)
            sampler = torch.utils.data.DistributedSampler(
                train_ds, env.world_size, env.rank, shuffle=True, seed=cfg.seed
            )
            loader = torch.utils.data.DataLoader(train_ds, per_rank, sampler=sampler, num_workers=cfg.workers,
                                                 collate_fn=_collate, drop_last=False)  # fmt: skip
            stop = _Stop()
            from ..engine.state import stop_on_signals

            with stop_on_signals(stop):
                while epoch < cfg.epochs:
                    sampler.set_epoch(epoch)
                    net.train()
                    start, sums, n = time.perf_counter(), 0.0, 0
                    from tqdm.auto import tqdm

                    bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False,
                               disable=not (cfg.progress and env.is_main))  # fmt: skip
                    for i, (images, targets) in enumerate(bar):
                        if cfg.max_batches is not None and i >= cfg.max_batches:
                            break
                        if i < skip:  # done before the stop this run resumes from
                            continue
                        if cfg.max_steps is not None and stop.steps >= cfg.max_steps:
                            stop.stop_requested = -1
                        if distributed.any_rank(bool(stop.stop_requested), device):
                            break
                        images = [im.to(device) for im in images]
                        targets = [
                            {k: v.to(device) if torch.is_tensor(v) else v for k, v in t.items()}
                            for t in targets
                        ]
                        with autocast(device.type, cfg.amp):
                            losses = net(images, targets)
                        loss = sum(losses.values())
                        if not torch.isfinite(loss):
                            raise SenetError(
                                f"the loss became {loss.item()} at epoch {epoch + 1}; lower --lr"
                            )
                        opt.zero_grad(set_to_none=True)
                        loss.backward()
                        opt.step()
                        sums, n, stop.steps = sums + loss.item(), n + 1, stop.steps + 1
                    if stop.stop_requested:  # mid-epoch: this epoch continues from here on resume
                        if env.is_main:
                            torch_save(
                                _state(model, opt, sched, epoch, history, cfg, num_classes, i), run / LAST
                            )
                        break
                    skip = 0
                    sched.step()
                    epoch += 1
                    metrics = evaluate(model, val_ds, device, cfg.workers, env)
                    history.append({"epoch": epoch, "train_loss": sums / max(n, 1), **metrics,
                                    "epoch_time_s": time.perf_counter() - start})  # fmt: skip
                    if env.is_main:
                        torch_save(_state(model, opt, sched, epoch, history, cfg, num_classes, 0), run / LAST)
                        print(f"senet detect: epoch {epoch}/{cfg.epochs}: loss {sums / max(n, 1):.4f} | "
                              f"AP {metrics['AP']:.1f} AP50 {metrics['AP50']:.1f} AP75 {metrics['AP75']:.1f}",
                              flush=True)  # fmt: skip
            if stop.stop_requested:
                return {"status": "stopped", "epoch": epoch, "signal": max(stop.stop_requested, 0)}
            summary = {"status": "finished", "model": cfg.model, **(history[-1] if history else {}),
                       "paper": PAPER_TABLE7.get(cfg.model)}  # fmt: skip
            if env.is_main:
                from ..hub.weights import save_weights

                save_weights(model.state_dict(), run / WEIGHTS)
                write_json(summary, run / SUMMARY)
            return summary
    finally:
        distributed.teardown(env)


def _state(model, opt, sched, epoch, history, cfg, num_classes, step) -> dict:
    from ..engine.checkpoint import rng_state

    return {"format": "senet-detect-1", "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(), "epoch": epoch, "step": step, "history": history,
            "config": asdict(cfg), "num_classes": num_classes, "rng": rng_state()}  # fmt: skip


class _Stop:
    stop_requested = 0
    steps = 0


def evaluate(model, dataset, device, workers: int = 0, env=None) -> dict:
    """COCO AP and AR (pycocotools' COCOeval, bbox) of ``model`` on ``dataset``, in %."""
    from pycocotools.cocoeval import COCOeval

    from ..core import distributed

    model.eval()
    world, rank = (env.world_size, env.rank) if env is not None else (1, 0)
    part = torch.utils.data.Subset(dataset, range(rank, len(dataset), world))
    loader = torch.utils.data.DataLoader(part, 2, num_workers=workers, collate_fn=_collate)
    results = []
    with torch.no_grad(), batches(loader) as it:  # its workers end on every way out
        for images, targets in it:
            out = model([im.to(device) for im in images])
            for t, o in zip(targets, out):
                boxes = o["boxes"].cpu()
                boxes[:, 2:] -= boxes[:, :2]  # XYXY -> XYWH, as COCO
                results += [{"image_id": int(t["image_id"]), "category_id": int(c), "bbox": [float(v) for v in b],
                             "score": float(s)} for b, c, s in zip(boxes, o["labels"].cpu(), o["scores"].cpu())]  # fmt: skip
    results = [r for part_ in distributed.gather(results) for r in part_] if world > 1 else results
    coco = dataset.coco
    if not results:
        return dict.fromkeys(STATS, 0.0)  # nothing detected: every AP and AR is 0
    with contextlib.redirect_stdout(None):
        ev = COCOeval(coco, coco.loadRes(results), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: (100 * float(v) if v >= 0 else None) for k, v in zip(STATS, ev.stats)}  # -1: no such objects


def eval_checkpoint(checkpoint, data: str, split: str = "val2017", device=None, workers: int = 0) -> dict:
    """AP of a ``senet detect train`` checkpoint on a split."""
    from ..core.io import torch_load_safely
    from ..core.runtime import resolve_device

    state = torch_load_safely(checkpoint)
    if not isinstance(state, dict) or state.get("format") != "senet-detect-1":
        raise SenetError(f"{checkpoint}: not a senet detect checkpoint (senet detect train writes them)")
    cfg = DetectConfig(**{**state["config"], "pretrained": None, "data": data, "val_split": split})
    dev = resolve_device(device)
    model = build_model(cfg, state["num_classes"]).to(dev)
    model.load_state_dict(state["model"])
    metrics = evaluate(model, coco(data, split), dev, workers)
    return {
        "model": cfg.model,
        "checkpoint": str(checkpoint),
        **metrics,
        "paper": PAPER_TABLE7.get(cfg.model),
    }
