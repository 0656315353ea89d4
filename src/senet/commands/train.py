"""`senet train`: train a model with one of the paper's recipes (a thin layer over :func:`senet.train`)."""

from __future__ import annotations

import json

from ._options import add_data_and_recipe, add_model_options, model_options

HELP = "train a model with one of the paper's recipes (torchrun for several GPUs or nodes)"


def add_arguments(p):
    p.add_argument(
        "--model",
        help="a registered name, e.g. se_resnet50 (see `senet list`); required unless --init MODEL.TAG",
    )
    add_data_and_recipe(
        p,
        "a preset of `senet recipes` (default: the model's paper's for ImageNet-style folders and CIFAR, "
        "e.g. imagenet, mobile, senet154, cifar-resnet, cifar-wrn, cifar-shake(-even); finetune with --init; "
        "digits otherwise)",
        "default: the recipe's",
    )
    p.add_argument("--batch-size", type=int, help="global batch over all processes (default: the recipe's)")
    p.add_argument("--lr", type=float, help="default: the recipe's, scaled linearly with the global batch")
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--label-smoothing", type=float)
    p.add_argument(
        "--class-balanced",
        action="store_true",
        default=None,
        help="class-aware sampling (the CVPR version's class-balanced mini-batches)",
    )
    p.add_argument(
        "--image-size",
        type=int,
        help="training crop (default: the model's, e.g. 224; 299 for Inception-ResNet-v2)",
    )
    p.add_argument("--out", help="run directory (default runs/MODEL)")
    p.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="continue a run: auto (the newest good checkpoint in --out) or a checkpoint path",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amp", choices=("bf16", "fp16"), help="mixed precision")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument(
        "--accum-steps",
        type=int,
        default=1,
        help="gradient accumulation: reach the paper's batch 1024 on fewer GPUs",
    )
    p.add_argument("--workers", type=int, default=2, help="data-loading processes per rank")
    p.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    p.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across ranks")
    p.add_argument("--deterministic", action="store_true", help="deterministic algorithms (exact resume)")
    p.add_argument(
        "--strict", action="store_true", help="an unreadable image stops the run (default: skip, count)"
    )
    p.add_argument("--max-steps", type=int, help="stop after this many optimizer steps, resumable")
    p.add_argument("--max-batches", type=int, help="at most this many batches per epoch (smoke tests)")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--no-tensorboard", dest="tensorboard", action="store_false")
    p.add_argument(
        "--init",
        help="fine-tune: start from these weights (a file, pretrained:TAG, or a full tag MODEL.TAG, which also "
        "names the model; a classifier of another class count starts afresh; default recipe: finetune)",
    )
    p.add_argument(
        "--freeze-backbone",
        type=int,
        nargs="?",
        const=1,
        default=0,
        metavar="EPOCHS",
        help="with --init: train the classifier alone for the first EPOCHS (default 1) epochs",
    )
    p.add_argument(
        "--grad-checkpointing",
        action="store_true",
        help="recompute activations in the backward pass: less memory for the big models, same gradients",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        metavar="KEY=VALUE",
        help="set a recipe field by name, e.g. --set ema_decay=0.9998 --set mixup_alpha=0.2 --set optimizer=adamw "
        "(`senet recipes NAME` lists every field)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_model_options(p)


def config_from_args(args):
    from ..engine import TrainConfig

    fields = (
        "model",
        "data",
        "recipe",
        "epochs",
        "batch_size",
        "lr",
        "weight_decay",
        "label_smoothing",
        "class_balanced",
        "image_size",
        "out",
        "resume",
        "seed",
        "amp",
        "channels_last",
        "compile",
        "accum_steps",
        "workers",
        "device",
        "sync_bn",
        "deterministic",
        "strict",
        "max_steps",
        "max_batches",
        "progress",
        "tensorboard",
        "init",
        "freeze_backbone",
        "grad_checkpointing",
    )
    from ..engine.recipes import parse_sets

    values = {f: getattr(args, f) for f in fields}
    if values["model"] is None:
        values["model"] = _model_of_init(args.init)
    return TrainConfig(
        **values,
        model_options=model_options(args),
        overrides=parse_sets(args.overrides),
    )


def _model_of_init(init) -> str:
    """The model a full tag name given to --init names (``seresnext26d_32x4d.bt_in1k``)."""
    from ..errors import SenetError
    from ..hub.pretrained import tag_named

    tag = tag_named(init) if init is not None else None
    if tag is None:
        raise SenetError(
            "the following arguments are required: --model (or --init MODEL.TAG, a tag of `senet list --pretrained`, "
            "which names the model)"
        )
    return tag.model


def run(args):
    from ..engine import train

    summary = train(config_from_args(args))
    if args.json:
        print(json.dumps(summary))
    # Stopped by a signal: the checkpoint is saved, but the run is not done; exit as the signal asks
    # (130 for Ctrl-C, 143 for SIGTERM), so that `senet train ... && next` does not go on and a scheduler
    # requeues the job. --max-steps is a stop that was asked for: exit 0.
    return 128 + summary["signal"] if summary.get("signal") else 0
