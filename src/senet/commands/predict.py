"""`senet predict`: the top-k classes of image files, with probabilities (a table, or --json)."""

from __future__ import annotations

import json
import os
import sys

from ._options import add_model_options, add_weights_options, model_options

HELP = "classify image files: the top-k classes of each, with probabilities"


def add_arguments(p):
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files (jpg, png, ...)")
    p.add_argument("--model", help="a registered name (default: the one a senet checkpoint records)")
    add_weights_options(
        p, "the model's published weights: its default tag, or TAG (`senet list --pretrained`)"
    )
    p.add_argument("--top-k", type=int, default=5, help="classes per image (default 5)")
    p.add_argument("--device", help="cpu or cuda (default: cuda if available)")
    p.add_argument(
        "--amp", choices=("bf16", "fp16"), help="autocast precision (bf16 on the CPU: oneDNN, AMX if present)"
    )
    p.add_argument("--json", action="store_true", help='one JSON object {"model", "predictions"}')
    add_model_options(p)


def run(args):
    from ..errors import SenetError
    from ..evaluation.inference import BATCH, check_top_k, image_paths, predictor

    images, pretrained = list(args.images), args.pretrained
    if _is_image(pretrained, args.model):  # `--pretrained cat.jpg`: the optional TAG took the first image
        images, pretrained = [pretrained, *images], True
    if not images:
        raise SenetError(
            "no images given: senet predict [--model NAME] [--checkpoint C | --pretrained] IMAGE..."
        )
    paths, k = image_paths(images), check_top_k(args.top_k)
    p = predictor(
        args.model,
        checkpoint=args.checkpoint,
        pretrained=pretrained,
        device=args.device,
        model_options=model_options(args),
        amp=args.amp,
        runtime=args.runtime,
        batch=min(len(paths), BATCH),
    )
    from ..runtimes.deployed import note

    note(p.net)
    if p.random_init:
        print(
            f"note: {p.name} has random weights (no --checkpoint or --pretrained): its predictions are arbitrary",
            file=sys.stderr,
        )
    results = p(paths, k)
    for r in results:
        if "error" in r:
            print(f"{r['image']}: cannot read: {r['error']}", file=sys.stderr)
    if args.json:
        runtime = getattr(p.net, "runtime", None) or "torch"
        print(json.dumps({"model": p.name, "runtime": runtime, "predictions": results}))
    else:
        _print_tables(results)
    return 0 if any("top" in r for r in results) else 2


def _print_tables(results: list[dict]) -> None:
    first = True
    for r in results:
        if "top" not in r:
            continue
        if not first:
            print()
        first = False
        width = max(len("class"), *(len(t["class"]) for t in r["top"]))
        print(r["image"])
        print(f"rank  {'class':<{width}}  probability")
        for rank, t in enumerate(r["top"], 1):
            print(f"{rank:>4}  {t['class']:<{width}}  {100 * t['probability']:>10.2f}%")


def _is_image(value, model) -> bool:
    """Whether ``--pretrained VALUE`` is an image file rather than a tag (argparse's optional value is
    greedy): an existing file, or an image file name, that is not one of the model's tags."""
    if not isinstance(value, str):
        return False
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from ..hub.pretrained import tags

    if value in tags() or (model and f"{model}.{value}" in tags()):
        return False
    return os.path.isfile(value) or value.lower().endswith(IMG_EXTENSIONS)
