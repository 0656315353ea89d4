"""`senet recipes`: the paper's training recipes (PAPER.md section 8) as named presets."""

from __future__ import annotations

import json

HELP = "print the paper's training recipes (presets for `senet train --recipe`)"


def add_arguments(p):
    p.add_argument("names", nargs="*", metavar="RECIPE", help="recipe names (default: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per recipe")


def run(args):
    from ..recipes import get_recipe, list_recipes

    for name in args.names or list_recipes():
        r = get_recipe(name)
        if args.json:
            print(json.dumps(r.as_dict()))
            continue
        sched = {
            "step": f"/{1 / r.gamma:g} every {r.step_epochs} epochs",
            "multistep": f"x{r.gamma:g} at {', '.join(f'{m:.0%}' for m in r.milestones)} of the epochs",
            "cosine": "cosine",
            "plateau": f"/{1 / r.gamma:g} on plateau ({r.plateau_reductions}x)",
        }[r.schedule]
        extras = [f"label smoothing {r.label_smoothing:g}"] if r.label_smoothing else []
        extras += ["no SE biases"] if r.se_bias is False else []
        extras += [f"Cutout {r.cutout}x{r.cutout}"] if r.cutout else []
        extras += [f"BN frozen for the last {r.freeze_bn_epochs} epochs"] if r.freeze_bn_epochs else []
        print(
            f"{r.name}: {r.epochs} epochs, batch {r.batch_size}, lr {r.lr:g} per {r.ref_batch} images "
            f"(linear scaling), SGD momentum {r.momentum:g}{' Nesterov' if r.nesterov else ''}, "
            f"wd {r.weight_decay:g}, {sched}, augment {r.augment}"
            + (", " + ", ".join(extras) if extras else "")
        )
        print(f"    source: {r.source}")
    return 0
