"""`senet recipes`: the paper's training recipes (PAPER.md section 8) as named presets."""

from __future__ import annotations

import json

HELP = "print the paper's training recipes (presets for `senet train --recipe`)"


def add_arguments(p):
    p.add_argument("names", nargs="*", metavar="RECIPE", help="recipe names (default: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per recipe")


def run(args):
    from ..engine.recipes import get_recipe, list_recipes, settable

    for name in args.names or list_recipes():
        r = get_recipe(name)
        if args.json:
            print(json.dumps(r.as_dict()))
            continue
        print(f"{r.name}: {r.describe()}")
        print(f"    source: {r.source}")
        if args.names:  # named: every settable field, as `senet train --set KEY=VALUE` takes them
            if r.published:
                print(f"    published: {r.published}")
            for k in settable():
                v = getattr(r, k)
                print(
                    f"    {k} = {'none' if v is None else ','.join(map(str, v)) if isinstance(v, tuple) else v}"
                )
    return 0
