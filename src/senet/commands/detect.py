"""`senet detect train|eval`: Faster R-CNN + FPN with an SE backbone on COCO-format data (Table 7)."""

from __future__ import annotations

import json

HELP = "detection as Table 7: Faster R-CNN + FPN with an SE backbone (train, eval) on coco:ROOT"


def add_arguments(p):
    sub = p.add_subparsers(dest="action", required=True, metavar="{train,eval}")
    t = sub.add_parser("train", help="train Faster R-CNN + FPN (Detectron's 1x schedule), COCO AP each epoch")
    t.add_argument(
        "--model", default="se_resnet50", help="the backbone (default se_resnet50; resnet50: its twin)"
    )
    t.add_argument("--data", required=True, help="coco:ROOT (annotations/instances_<split>.json, <split>/)")
    t.add_argument(
        "--pretrained", nargs="?", const=True, metavar="TAG", help="the backbone's ImageNet weights"
    )
    t.add_argument("--out", help="run directory (default runs/detect_MODEL)")
    t.add_argument("--epochs", type=int, default=12)
    t.add_argument("--batch-size", type=int, default=16, help="global batch (default 16)")
    t.add_argument("--lr", type=float, help="default 0.02 per 16 images")
    t.add_argument("--min-size", type=int, default=800, help="shorter side of the input (default 800)")
    t.add_argument("--max-size", type=int, default=1333)
    t.add_argument("--trainable-stages", type=int, default=3)
    t.add_argument("--train-split", default="train2017")
    t.add_argument("--val-split", default="val2017")
    t.add_argument(
        "--resume", nargs="?", const="auto", help="auto (the run's last epoch) or a checkpoint path"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--amp", choices=("bf16", "fp16"))
    t.add_argument("--device")
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--max-steps", type=int, help="stop after this many steps (smoke tests)")
    t.add_argument("--max-batches", type=int, help="at most this many batches per epoch (smoke tests)")
    t.add_argument("--grad-checkpointing", action="store_true", help="less activation memory, same gradients")
    t.add_argument("--no-progress", dest="progress", action="store_false")
    t.add_argument("--json", action="store_true")
    e = sub.add_parser("eval", help="COCO AP (pycocotools) of a senet detect checkpoint")
    e.add_argument("--checkpoint", required=True)
    e.add_argument("--data", required=True, help="coco:ROOT")
    e.add_argument("--split", default="val2017")
    e.add_argument("--device")
    e.add_argument("--workers", type=int, default=0)
    e.add_argument("--json", action="store_true")


def run(args):
    from ..detection.faster_rcnn import STATS, DetectConfig, eval_checkpoint, train

    if args.action == "eval":
        r = eval_checkpoint(args.checkpoint, args.data, args.split, args.device, args.workers)
    else:
        keys = [k for k in DetectConfig.__dataclass_fields__ if hasattr(args, k)]
        r = train(DetectConfig(**{k: getattr(args, k) for k in keys}))
        if r.get("status") == "stopped":
            print(
                json.dumps(r) if args.json else f"senet detect: stopped at epoch {r['epoch']}; --resume auto"
            )
            return 128 + r["signal"] if r.get("signal") else 0
    if args.json:
        print(json.dumps(r))
        return 0
    print("  ".join(f"{k} {r[k]:.1f}" if r[k] is not None else f"{k} n/a" for k in STATS if k in r))
    if r.get("paper"):
        print(f"paper (Table 7, COCO minival, ImageNet-pretrained): AP50 {r['paper'][0]}  AP {r['paper'][1]}")
    return 0
