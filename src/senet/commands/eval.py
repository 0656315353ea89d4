"""`senet eval`: top-1 and top-5 error (%) as the paper reports them, loss, per-class accuracy, images/s."""

from __future__ import annotations

import json
import sys

from ._options import add_model_options, add_weights_options, given, int_list, model_options

HELP = "evaluate a model: top-1/top-5 error, loss, per-class accuracy, images/s"


def add_arguments(p):
    p.add_argument("--model", help="a registered name (default: the one a training checkpoint records)")
    add_weights_options(
        p,
        "the model's pretrained weights (default tag, or TAG: `senet list --pretrained`), downloaded once; "
        "evaluated with their own preprocessing",
    )
    p.add_argument(
        "--data",
        default="digits",
        help="digits | synthetic | imagefolder:PATH | cifar10:PATH | cifar100:PATH",
    )
    p.add_argument("--resize", type=int, help="shorter side before the crop (imagefolder default 256)")
    p.add_argument("--crop", type=int, help="centre crop (imagefolder default 224; the paper also uses 320)")
    p.add_argument("--ten-crop", action="store_true", help="average the logits of ten crops")
    g = p.add_argument_group("multi-scale, multi-crop (the ILSVRC 2017 protocol; probabilities averaged)")
    g.add_argument("--scales", type=int_list("scales"), help="short sides, e.g. 256,288,320,352")
    g.add_argument(
        "--crops",
        type=int,
        choices=(1, 3, 5, 10),
        help="per scale: 1 centre, 3 along the long side, 5 corners + centre, 10 = 5 and mirrors",
    )
    g.add_argument("--flip", action="store_true", help="also the mirror of every crop")
    g.add_argument(
        "--fully-convolutional", action="store_true", help="the whole resized image instead of crops"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    p.add_argument(
        "--amp", choices=("bf16", "fp16"), help="autocast precision (bf16 on the CPU: oneDNN, AMX if present)"
    )
    p.add_argument(
        "--strict", action="store_true", help="an unreadable image is an error (default: skip, count)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object")
    add_model_options(p)


def run(args):
    from ..evaluation.evaluator import evaluate

    r = evaluate(
        args.model,
        **given(args, "checkpoint", "data", "resize", "crop", "ten_crop", "batch_size", "device", "workers"),
        **given(
            args, "strict", "amp", "scales", "crops", "flip", "fully_convolutional", "pretrained", "runtime"
        ),
        model_options=model_options(args),
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    if r.get("runtime_note"):
        print(r["runtime_note"], file=sys.stderr)
    if args.json:
        print(json.dumps(r))
        return 0
    print(
        f"{r['model']}{'' if r['runtime'] == 'torch' else ' (' + r['runtime'] + ')'} on {r['data']} ({r['num_images']} images"
        + (f", {r['skipped']} unreadable skipped" if r["skipped"] else "")
        + ")"
    )
    n = len(r["classes"])
    if "per_scale" in r:
        v = r["views"]
        how = "whole image" if v["fully_convolutional"] else f"{v['crops']} crop(s) of {v['crop']}"
        print(f"{v['per_image']} views per image: {how}{', and mirrors' if v['flip'] else ''} at each scale")
        print("scale  views  single-view top-1/top-5  multi-view top-1/top-5")
        for s in r["per_scale"]:
            one, many = s["single_view"], s["multi_view"]
            print(
                f"{s['scale']:>5}  {s['views']:>5}  {one['top1_error']:>10.2f}% / {_top5(one, n)}"
                f"  {many['top1_error']:>10.2f}% / {_top5(many, n)}"
            )
        print("fused over every view:")
    print(
        f"top-1 error {r['top1_error']:.2f}%  top-5 error {_top5(r, n)}  loss {r['loss']:.4f}  "
        f"{r['images_per_s']:.0f} images/s"
    )
    worst = sorted(zip(r["per_class_accuracy"], r["classes"]))[:10]
    print("lowest per-class accuracy: " + ", ".join(f"{c} {a:.1f}%" for a, c in worst))
    return 0


def _top5(result: dict, classes: int) -> str:
    """Top-5 error, or n/a where 5 guesses cover every class (the error is 0 whatever the model does)."""
    return f"{result['top5_error']:.2f}%" if classes > 5 else f"n/a ({classes} classes)"
