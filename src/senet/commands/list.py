"""`senet list [PATTERN]`: the registered models, or with --pretrained the weights' tags."""

import json

HELP = "list the registered models (--pretrained: the pretrained weights' tags)"


def add_arguments(p):
    p.add_argument("pattern", nargs="?", default="*", help="shell pattern, e.g. 'se_*'")
    p.add_argument("--json", action="store_true", help="one JSON object per model (or tag) with its metadata")
    p.add_argument(
        "--pretrained", action="store_true", help="the pretrained tags (model.tag): source, license, errors"
    )


def run(args):
    from ..errors import SenetError
    from ..models.factory import list_models, model_info

    if args.pretrained:
        return _tags(args.pattern, args.json)
    names = list_models(args.pattern)
    if not names:
        raise SenetError(f"no model matches {args.pattern!r}; `senet list` shows them all, e.g. 'se_*'")
    for name in names:
        print(json.dumps(model_info(name).as_dict()) if args.json else name)
    return 0


def _tags(pattern: str, as_json: bool) -> int:
    from ..errors import SenetError
    from ..hub.pretrained import list_pretrained, tags
    from ..models.counting import complexity

    names = list_pretrained(pattern if "." in pattern or pattern == "*" else f"{pattern}.*")
    if not names:
        raise SenetError(f"no pretrained tag matches {pattern!r}; `senet list --pretrained` shows them all")
    w = max(36, *(len(n) + 1 for n in names))
    if not as_json:
        print(
            f"{'tag':<{w}} {'top-1 err':>9} {'top-5 err':>9} {'size':>4} {'crop':>5} {'interp':<8} {'license':<13} source"
        )
    for name in names:
        t = tags()[name]
        if as_json:
            c = complexity(t.model, num_classes=t.num_classes, **t.options)  # the file's head; on meta
            print(json.dumps({**t.as_dict(), "params": c.params, "gflops": c.gflops}))
            continue
        err = lambda v: f"{v:8.2f}%" if v is not None else "        -"  # noqa: E731
        where = t.url.split("/")[2] if "://" in t.url else t.url
        where = f"hf:{t.url[5:].rsplit('/', 1)[0]}" if t.url.startswith("hf://") else where
        print(
            f"{name:<{w}} {err(t.top1)} {err(t.top5)} {t.input_size:>4} {t.crop_pct:5.3f} {t.interpolation:<8} "
            f"{t.license:<13} {where}"
        )
    return 0
