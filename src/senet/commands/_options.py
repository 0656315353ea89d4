"""Command-line flags shared by the verbs: the models' SE knobs, and flags passed on as keywords."""

from __future__ import annotations

from ..layers.se import EXCITATIONS, PLACEMENTS, SQUEEZES


def add_model_options(p) -> None:
    g = p.add_argument_group("model options (the paper's ablation knobs; SE models only)")
    g.add_argument("--reduction", type=int, help="r, the reduction ratio (Table 10)")
    g.add_argument(
        "--squeeze", choices=SQUEEZES, help="squeeze operator (Table 11; none = NoSqueeze, Table 16)"
    )
    g.add_argument("--excitation", choices=tuple(EXCITATIONS), help="excitation gate (Table 12)")
    g.add_argument(
        "--no-se-bias",
        dest="bias",
        action="store_const",
        const=False,
        help="SE FCs without biases (the TPAMI ablations)",
    )
    g.add_argument("--placement", choices=PLACEMENTS, help="where the SE block goes (Tables 14, 15)")
    g.add_argument(
        "--stages", type=_stages, help="comma-separated stage numbers that get SE, e.g. 4 or 2,3 (Table 13)"
    )
    g.add_argument("--layout", choices=("official", "torchvision"), help="ResNet stride/pool layout")
    g.add_argument(
        "--add-se",
        action="store_true",
        default=None,
        help="insert SE blocks where the paper puts them, found from the graph (senet.add_se; e.g. "
        "--model torchvision:vgg16_bn --add-se; docs/models.md)",
    )
    g.add_argument(
        "--se-where",
        dest="where",
        type=lambda text: tuple(t for t in text.split(",") if t),
        metavar="PATTERNS",
        help="with --add-se: comma-separated module-name patterns of the blocks that get SE, e.g. 'features.*'",
    )


def model_options(args) -> dict:
    """The model options given on the command line (absent ones are left to the model's defaults)."""
    keys = ("reduction", "squeeze", "excitation", "bias", "placement", "stages", "layout", "add_se", "where")
    return {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}


def int_list(what: str):
    """An argparse type: comma-separated integers, e.g. ``2,3`` or ``256,288,320,352``."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            return tuple(int(s) for s in text.split(",") if s.strip())
        except ValueError:
            import argparse

            raise argparse.ArgumentTypeError(
                f"{what} must be comma-separated integers, got {text!r}"
            ) from None

    return parse


_stages = int_list("stages")


def given(args, *names: str, drop_none: bool = False) -> dict:
    """``{name: args.name}`` for the verb's flags that map one to one onto the function's keywords."""
    values = {n: getattr(args, n) for n in names}
    return {k: v for k, v in values.items() if v is not None} if drop_none else values


DATA_HELP = "digits | synthetic[:CLASSES] | imagefolder:PATH | cifar10:PATH | cifar100:PATH (default digits)"


def add_data_and_recipe(p, recipe_help: str, epochs_help: str) -> None:
    """``--data``, ``--recipe`` and ``--epochs``, as the training verbs take them."""
    p.add_argument("--data", default="digits", help=DATA_HELP)
    p.add_argument("--recipe", help=recipe_help)
    p.add_argument("--epochs", type=int, help=epochs_help)


def add_weights_options(p, pretrained_help: str) -> None:
    """``--checkpoint FILE`` or ``--pretrained [TAG]`` (one of them)."""
    w = p.add_mutually_exclusive_group()
    w.add_argument(
        "--checkpoint",
        help="checkpoint_best.pt, model.safetensors, any state_dict file, or a deployed file (.onnx, OpenVINO "
        ".xml, .pt2 from senet export/quantize: run in its runtime with the preprocessing and classes it records)",
    )
    w.add_argument("--pretrained", nargs="?", const=True, metavar="TAG", help=pretrained_help)
    p.add_argument(
        "--runtime",
        choices=("auto", "torch", "ort", "openvino"),
        help="CPU runtime: torch (PyTorch eager), ort (ONNX Runtime), openvino, or auto (the fastest installed "
        "one, measured once and cached; it says which it took) (default: torch, or a deployed file's own)",
    )
