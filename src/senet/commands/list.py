"""`senet list [PATTERN]`: the registered models."""

import json

HELP = "list the registered models"


def add_arguments(p):
    p.add_argument("pattern", nargs="?", default="*", help="shell pattern, e.g. 'se_*'")
    p.add_argument("--json", action="store_true", help="one JSON object per model with its metadata")


def run(args):
    from ..errors import SenetError
    from ..registry import list_models, model_info

    names = list_models(args.pattern)
    if not names:
        raise SenetError(f"no model matches {args.pattern!r}; `senet list` shows them all, e.g. 'se_*'")
    for name in names:
        print(json.dumps(model_info(name).as_dict()) if args.json else name)
    return 0
