"""`senet bench`: models side by side, interleaved round by round, with each one's ratio to the first."""

from __future__ import annotations

import json
import shlex

from ._options import given

HELP = "time models side by side (interleaved rounds); median, spread and the ratio to the first model"


def add_arguments(p):
    p.add_argument(
        "--models",
        required=True,
        help="comma-separated: senet names, timm:NAME, torchvision:NAME (the first is the baseline); a runtime "
        "prefix times one under another runtime: folded:, compiled:, bf16:, int8:, ort:, ort-int8:, ov:, "
        "ov-int8: (OpenVINO), auto: (the runtime --runtime auto picks) (int8[se=float]:NAME keeps SE in float)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda (default: cpu)")
    p.add_argument(
        "--mode",
        choices=("infer", "train"),
        default="infer",
        help="infer: forward only; train: forward, backward and an SGD step",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--size", type=int, default=224, help="input resolution (default: 224)")
    p.add_argument("--amp", choices=("bf16", "fp16"), help="autocast dtype (default: float32)")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels-last format")
    p.add_argument("--compile", action="store_true", help="torch.compile every model")
    p.add_argument(
        "--optimize",
        action="store_true",
        help="inference: senet.optimize_for_inference (BN folded into convs) on every model",
    )
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per model first (default: 3)")
    p.add_argument("--iters", type=int, default=20, help="interleaved timed rounds (default: 20)")
    p.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's; say 1 on a shared machine)"
    )
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--output", metavar="FILE", help="also write the JSON (with the command) to FILE")


def command_line(args) -> str:
    """The command that reproduces ``args``, recorded with every result."""
    words = [
        "senet",
        "bench",
        "--models",
        args.models,
        "--device",
        args.device,
        "--mode",
        args.mode,
        "--batch-size",
        str(args.batch_size),
        "--size",
        str(args.size),
    ]
    if args.amp:
        words += ["--amp", args.amp]
    words += [
        f
        for f, on in (
            ("--channels-last", args.channels_last),
            ("--compile", args.compile),
            ("--optimize", args.optimize),
        )
        if on
    ]
    words += ["--warmup", str(args.warmup), "--iters", str(args.iters)]
    if args.threads is not None:
        words += ["--threads", str(args.threads)]
    return shlex.join(words)


def run(args):
    from ..deploy.benchmark import bench, format_table

    if args.output:  # refused before minutes of timing, not after
        from ..core.io import check_output
        from ..engine.rundir import RUN_FILES

        check_output(args.output, (".json",), keep=RUN_FILES)
    result = bench(
        args.models,
        **given(args, "device", "mode", "batch_size", "size", "amp", "channels_last", "compile", "optimize"),
        **given(args, "warmup", "iters", "threads"),
    )
    result = {"command": command_line(args), **result}
    if args.output:
        from ..core.io import write_text

        write_text(args.output, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result) if args.json else format_table(result))
    return 0
