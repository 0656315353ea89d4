"""`senet excitations`: the role of excitation (Sec. 7.2, Figs. 6-7) and the stage-pruning experiment."""

from __future__ import annotations

from ._options import add_model_options, given, model_options

HELP = "record SE excitations per class (Figs. 6-7, Sec. 7.2); --drop-stage N prunes a stage's SE blocks"


def add_arguments(p):
    p.add_argument("--model", required=True, help="SE model name, e.g. se_resnet20_cifar")
    p.add_argument("--checkpoint", help="trained weights (.pt/.safetensors; default: random initialisation)")
    p.add_argument("--data", default="digits", help="dataset (default: digits)")
    p.add_argument(
        "--classes",
        help="comma-separated class names to plot (default: goldfish, pug, plane, cliff by synset where the data has them, else its first four)",
    )
    p.add_argument("--samples", type=int, default=50, help="images per class (paper: 50)")
    p.add_argument(
        "--blocks",
        help="comma-separated SE blocks, e.g. SE_2_3,SE_4_3 (default: as Sec. 7.2, the last block of each stage and every block of the last)",
    )
    p.add_argument(
        "--drop-stage", type=int, help="also evaluate with this stage's SE blocks replaced by identity"
    )
    p.add_argument(
        "--trained-without",
        metavar="CHECKPOINT",
        help="with --drop-stage: a network trained without that stage's SE blocks (the other reading of Sec. 7.2)",
    )
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--out", required=True, help="output directory")
    add_model_options(p)


def run(args):
    from ..analysis.excitations import excitations

    r = excitations(
        args.model,
        args.checkpoint,
        **given(
            args, "data", "classes", "samples", "blocks", "out", "drop_stage", "device", "trained_without"
        ),
        **model_options(args),
    )
    print(f"{'block':<8} {'channels':>8} {'specificity*':>12} {'eta^2*':>7} {'saturation':>10}  (*: ours)")
    for name, b in r["blocks"].items():
        print(
            f"{name:<8} {b['channels']:>8} {b['specificity']:>12.3f} {b['eta2']:>7.3f} "
            f"{b['saturation']:>10.3f}"
        )
    if "drop_stage" in r:
        d = r["drop_stage"]
        print(
            f"without the SE blocks of stage {d['stage']}: top-1 error {d['top1_change']:+.2f}, "
            f"top-5 error {d['top5_change']:+.2f} points; params saved {d['params_saved']:,} "
            f"(senet.complexity agrees: {'yes' if d['consistent_with_complexity'] else 'NO'})"
        )
    print(f"wrote {args.out}/excitations.json, fig6_class_means.png, fig7_distribution.png, specificity.png")
    return 0
