"""`senet ablate`: the paper's ablation tables (Sec. 6, Tables 10-16), each variant trained by the engine."""

from __future__ import annotations

from ._options import add_data_and_recipe, given

HELP = "reproduce an ablation table (10-16 or all): train every variant, write table_<n>.md/.csv/.png"


def add_arguments(p):
    p.add_argument("--table", required=True, help="10, 11, 12, 13, 14, 15, 16, a comma list, or all")
    p.add_argument("--model", default="se_resnet50", help="the SE model (default: se_resnet50, the paper's)")
    add_data_and_recipe(
        p,
        "training recipe (default: imagenet-ablation on image folders, as Sec. 6; else the model's for the "
        "data; see `senet recipes`)",
        "epochs per variant (default: the recipe's)",
    )
    p.add_argument("--out", required=True, help="study directory (tables here, runs under runs/)")
    p.add_argument("--only", help="comma-separated variant labels of the one table, e.g. r=2,r=4,r=8")
    p.add_argument("--se-bias", action="store_true", help="SE FCs with biases (the TPAMI ablations: none)")
    g = p.add_argument_group("training (passed to the engine)")
    g.add_argument("--batch-size", type=int, help="global batch (default: the recipe's)")
    g.add_argument("--lr", type=float, help="learning rate (default: the recipe's, scaled with the batch)")
    g.add_argument("--max-batches", type=int, help="at most this many batches per epoch (smoke studies)")
    g.add_argument("--device", help="cuda, cpu, ... (default: cuda if available)")
    g.add_argument("--workers", type=int, help="data loader workers")
    g.add_argument("--seed", type=int, help="random seed (default 0)")
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    g.add_argument("--no-tensorboard", dest="tensorboard", action="store_false", help="no TensorBoard logs")


def run(args):
    from ..analysis.ablate import ablate

    result = ablate(
        args.table,
        **given(
            args, "model", "data", "recipe", "epochs", "out", "only", "se_bias", "progress", "tensorboard"
        ),
        **given(args, "batch_size", "lr", "max_batches", "device", "workers", "seed", drop_none=True),
    )
    for n, rows in result.items():
        print(f"Table {n} ({args.out}/table_{n}.md):")
        for r in rows:
            err = (
                "unfinished"
                if r["top1_error"] is None
                else f"{r['top1_error']:6.2f} / {r['top5_error']:6.2f}"
            )
            print(
                f"  {r['variant']:<12} top-1/top-5 error {err}  params {r['params']:>11,}  "
                f"GFLOPs {r['gflops']:.4f}"
            )
    return 0
