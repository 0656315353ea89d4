"""`senet quantize`: int8 for the CPU, calibrated on a data set; agreement with the float model."""

from __future__ import annotations

import json

from ._options import DATA_HELP, add_model_options, given, model_options

HELP = "int8 for the CPU (PT2E or ONNX Runtime static quantization), checked against the float model"


def add_arguments(p):
    p.add_argument("--model", help="a registered name (default: the one a senet checkpoint records)")
    p.add_argument("--checkpoint", help="the float weights (checkpoint_best.pt, model.safetensors, ...)")
    p.add_argument("--data", default="digits", help=f"calibration and held-out images: {DATA_HELP}")
    p.add_argument(
        "--calib", type=int, default=256, help="training images that set the activation ranges (default 256)"
    )
    p.add_argument(
        "--held-out", type=int, help="validation images to compare on (default: the whole validation split)"
    )
    p.add_argument(
        "--backend",
        choices=("ort", "pt2e", "openvino"),
        default="ort",
        help="ort: ONNX Runtime (an .onnx file); pt2e: PyTorch 2 export + Inductor (a .pt2 file); openvino: NNCF (an OpenVINO .xml + .bin) (default ort)",
    )
    p.add_argument(
        "--se",
        choices=("auto", "int8", "float"),
        default="auto",
        help="the SE blocks' FCs in int8, or the whole block kept in float; auto: the faster for the "
        "backend as measured (ort: float, pt2e: int8, openvino: int8)",
    )
    p.add_argument(
        "--out", help="where to write the int8 model (.onnx for ort, .pt2 for pt2e, .xml for openvino)"
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, help="CPU threads of the int8 runtime (default: torch's)")
    p.add_argument("--json", action="store_true", help="one JSON object")
    add_model_options(p)


def run(args):
    import sys

    from ..deploy.quantize import quantize_data

    if args.checkpoint is None and args.model:
        print(
            f"note: {args.model} has random weights (no --checkpoint): the agreement says little",
            file=sys.stderr,
        )
    r = quantize_data(
        args.model,
        **given(args, "checkpoint", "data", "calib", "held_out", "backend", "se", "out", "batch_size"),
        **given(args, "threads"),
        model_options=model_options(args),
    )
    if args.json:
        print(json.dumps(r))
        return 0
    print(
        f"{r['model']} int8 ({r['backend']}, SE in {r['se']}), calibrated on {r['calibration_images']} "
        f"images of {r['data']} in {r['quantize_seconds']:.1f} s"
    )
    print(f"held-out images: {r['images']}")
    print(f"top-1 agreement with float32: {r['agreement']:.2f}%")
    print(f"top-1 error: float32 {r['float_top1_error']:.2f}%, int8 {r['int8_top1_error']:.2f}%")
    if r["out"]:
        print(f"wrote {r['out']}")
    return 0
