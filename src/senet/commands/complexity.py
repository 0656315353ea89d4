"""`senet complexity`: parameters and GFLOPs (multiply-adds) per model, or the paper's tables side by side."""

from __future__ import annotations

import json

from ._options import add_model_options, model_options

HELP = "count parameters and GFLOPs (multiply-adds) as the paper does"


def add_arguments(p):
    p.add_argument("models", nargs="*", metavar="MODEL", help="registered names (default: all)")
    p.add_argument("--size", type=int, help="input resolution (default: each model's own, e.g. 224)")
    p.add_argument("--num-classes", type=int, help="classifier size (default: each model's own)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--paper",
        action="store_true",
        help="the paper's numbers (PAPER.md sections 4, 5, 7) beside ours, with the difference",
    )
    add_model_options(p)


def run(args):
    from ..models.counting import complexity, paper_comparison, se_deltas
    from ..models.factory import list_models

    if args.paper:
        rows = paper_comparison()
        columns = ("source", "label", "params", "paper_params", "params_given_as", "params_match")
        _print(rows, args.json, (*columns, "gflops", "paper_gflops", "gflops_match", "gflops_diff_pct"))
        if not args.json:
            print("\nSE minus plain, GFLOPs (the squeeze and the scale count one operation per element):")
            _print(se_deltas(), False, ("plain", "se", "delta_gflops", "paper", "match"))
        return 0
    names = args.models or list_models()
    opts = model_options(args)
    rows = [complexity(n, args.size, args.num_classes, **opts).as_dict() for n in names]
    _print(rows, args.json, ("model", "input_size", "params", "gflops"))
    return 0


def _print(rows, as_json, columns):
    if as_json:
        for r in rows:
            print(json.dumps(r))
        return
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    text = [isinstance(rows[0].get(c), str) if rows else True for c in columns]
    print("  ".join(c.ljust(w) if t else c.rjust(w) for c, w, t in zip(columns, widths, text)))
    for row in cells:
        print("  ".join(v.ljust(w) if t else v.rjust(w) for v, w, t in zip(row, widths, text)))


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:.2f}" if abs(v) < 1000 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)
