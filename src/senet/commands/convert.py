"""`senet convert`: turn a Cadene / timm / torchvision / senet checkpoint into our safetensors weights."""

HELP = "convert a .pth/.pt/.safetensors checkpoint (Cadene, timm, ours) into senet safetensors weights"


def add_arguments(p):
    p.add_argument("checkpoint", help="input file (.pth, .pt or .safetensors); never unpickled")
    p.add_argument("out", help="output .safetensors file")
    p.add_argument("--model", required=True, help="the registered model the weights belong to")
    p.add_argument("--num-classes", type=int, help="classifier size (default: the model's own)")
    p.add_argument(
        "--layout", choices=("official", "torchvision"), help="ResNet layout (timm seresnet*: torchvision)"
    )


def run(args):
    import torch

    from ..core.io import check_output
    from ..engine.rundir import RUN_FILES
    from ..hub.weights import read_weights, save_weights
    from ..models.factory import create_model

    check_output(args.out, (".safetensors",), inputs=[args.checkpoint], keep=RUN_FILES)
    card = read_weights(args.checkpoint)[1] or {}
    options = {}  # a senet file's card supplies the options it was built with (an SE variant's knobs)
    if card.get("model") == args.model:
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in (card.get("options") or {}).items()}
    if args.layout:
        options["layout"] = args.layout
    with torch.device("meta"):  # the checkpoint materialises every tensor; loading checks every key and shape
        model = create_model(args.model, num_classes=args.num_classes, checkpoint=args.checkpoint, **options)
    path = save_weights(model, args.out, classes=card.get("classes"))
    print(f"wrote {path} ({sum(p.numel() for p in model.parameters()):,} parameters of {args.model})")
    return 0
