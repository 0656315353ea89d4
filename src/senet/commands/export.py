"""`senet export MODEL --format onnx|torchscript --out FILE`: a model for deployment."""

from ._options import add_model_options, given, model_options

HELP = "export a model (optionally with a checkpoint) to ONNX (dynamic batch), TorchScript or OpenVINO IR"


def add_arguments(p):
    p.add_argument("model", help="a registered model name (see `senet list`)")
    p.add_argument("--checkpoint", help="weights to load first (.pth, .pt or .safetensors)")
    p.add_argument(
        "--format", required=True, help="onnx, torchscript or openvino (an .xml and its .bin: OpenVINO IR)"
    )
    p.add_argument("--out", required=True, help="output file; written atomically (no partial file)")
    p.add_argument("--size", type=int, help="input height = width to trace at (default: the model's own)")
    p.add_argument("--num-classes", type=int, help="classifier size (default: the model's own)")
    p.add_argument(
        "--dynamic-size",
        action="store_true",
        help="ONNX with free height and width (detection, segmentation)",
    )
    p.add_argument("--opset", type=int, help="ONNX opset version (default: the exporter's)")
    add_model_options(p)


def run(args):
    from ..deploy.export import export

    path = export(
        args.model,
        args.out,
        args.format,
        **given(args, "checkpoint", "size", "num_classes", "opset", "dynamic_size"),
        **model_options(args),
    )
    print(f"wrote {path} ({args.format}, {args.model})")
    return 0
