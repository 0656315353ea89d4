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

    from ..io import check_output
    from ..registry import create_model
    from ..weights import save_weights

    check_output(args.out, (".safetensors",), inputs=[args.checkpoint])
    options = {"layout": args.layout} if args.layout else {}
    with torch.device("meta"):  # the checkpoint materialises every tensor; loading checks every key and shape
        model = create_model(args.model, num_classes=args.num_classes, checkpoint=args.checkpoint, **options)
    path = save_weights(model, args.out)
    print(f"wrote {path} ({sum(p.numel() for p in model.parameters()):,} parameters of {args.model})")
    return 0
