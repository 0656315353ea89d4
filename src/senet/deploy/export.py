"""``export``: a model to ONNX (dynamic batch, checked by onnxruntime in the tests) or TorchScript.

The file is written to a temporary file in the target directory and renamed on success, so a failed
export leaves nothing behind. ONNX uses torch's dynamo exporter (``torch.onnx.export(dynamo=True)``): the
SE squeeze becomes ``ReduceMean`` (or ``GlobalAveragePool``), the batch dimension is symbolic ("batch").
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..core.io import atomic_write, check_output
from ..errors import SenetError
from ..layers.se import check_choice

FORMATS = ("onnx", "torchscript")
MIN_OPSET = 18  # torch.onnx.export(dynamo=True) writes opset 18 and newer; lower ones fail to convert
SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".pth", ".ts", ".torchscript")}
INPUT_NAME, OUTPUT_NAME = "input", "logits"
ONNX_LIMIT = 2**31  # protobuf's limit for one file (senet writes no external data files)


def _resolve(model, checkpoint, num_classes, options) -> tuple[nn.Module, int, int]:
    """The model in eval mode, its native input size and its smallest one."""
    from ..models.factory import create_model, model_info

    if isinstance(model, str):
        if checkpoint is not None:  # the card's options (add_se=True, where=...) rebuild the same network
            from ..evaluation.evaluator import _resolve as card_options

            model, options, _ = card_options(model, checkpoint, options)
        info = model_info(model)
        model = create_model(model, num_classes=num_classes, checkpoint=checkpoint, **options)
        return model.eval(), info.input_size[-1], info.min_input_size
    if not isinstance(model, nn.Module):
        raise SenetError(f"export needs a model name or a torch.nn.Module, got {type(model).__name__}")
    if options or num_classes is not None:
        raise SenetError("model options and num_classes apply to a model name, not to a built model")
    if checkpoint is not None:
        from ..hub.weights import load_weights

        load_weights(model, checkpoint)
    cfg = getattr(model, "default_cfg", {})
    return model.eval(), cfg.get("input_size", (3, 224, 224))[-1], cfg.get("min_input_size", 8)


def opset_range() -> tuple[int, int]:
    """The opsets ``--opset`` takes: from the dynamo exporter's own (torch's torchlib; lower ones go through a
    version conversion that fails) to the newest the installed onnx knows (higher ones fail to convert and
    the file would be written at another opset)."""
    try:
        from torch.onnx._internal.exporter._constants import TORCHLIB_OPSET as low
    except ImportError:  # another torch: the minimum of the torch this was written against
        low = MIN_OPSET
    try:
        import onnx

        high = onnx.defs.onnx_opset_version()
    except ImportError:
        raise SenetError("ONNX export needs the onnx package: pip install onnx onnxscript") from None
    return low, high


def check_opset(opset) -> None:
    """``opset`` is None (the exporter's default) or an opset the installed exporter writes."""
    if opset is None:
        return
    low, high = opset_range()
    if not isinstance(opset, int) or isinstance(opset, bool) or not low <= opset <= high:
        raise SenetError(
            f"opset must be an integer from {low} to {high} (the installed torch ONNX exporter and onnx), "
            f"got {opset!r}"
        )


@contextlib.contextmanager
def quiet_export():
    """torch.export, the ONNX exporter and the quantizers log their symbolic-shape reasoning (failed attempts
    as warnings with tracebacks), warn and print at length about things that are not errors: silence them."""
    import logging

    loggers = [
        logging.getLogger(n) for n in ("torch.fx.experimental.symbolic_shapes", "torch.export", "torch.onnx")
    ]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _onnx(
    model: nn.Module, x: torch.Tensor, path: str, opset: int | None, dynamic_size: bool = False
) -> None:
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    shapes = {0: batch}
    if dynamic_size:  # height and width free (detection, segmentation): any size the network takes
        shapes.update({2: torch.export.Dim.AUTO, 3: torch.export.Dim.AUTO})  # constraints found by export
    try:
        with quiet_export():
            torch.onnx.export(
                model,
                (x,),
                path,
                dynamo=True,
                dynamic_shapes=(shapes,),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                external_data=False,
                opset_version=opset,
                verbose=False,
            )
    except Exception as e:
        if not dynamic_size:
            raise
        import re

        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()  # torch colours its message
        first = text.splitlines()[0] if text else type(e).__name__
        raise SenetError(
            f"this model does not export with free height and width ({first[:200]}); export it at a fixed "
            "--size without --dynamic-size"
        ) from None


def _torchscript(model: nn.Module, x: torch.Tensor, path: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (x,), check_trace=False)
    traced.save(path)


def export(
    model: nn.Module | str,
    out,
    format: str = "onnx",
    *,
    checkpoint=None,
    size: int | None = None,
    num_classes: int | None = None,
    opset: int | None = None,
    dynamic_size: bool = False,
    **options,
) -> Path:
    """Write ``model`` (a registered name or a module) to ``out`` as ONNX or TorchScript; return the path.

    ``size``: the square input the graph is traced at (default: the model's native size; the batch
    stays dynamic; ``dynamic_size``: height and width too). ``checkpoint``: weights to
    load first; ``options``: create_model options (SE knobs).
    """
    if dynamic_size and format != "onnx":
        raise SenetError("--dynamic-size is for ONNX; a TorchScript trace keeps the sizes it saw")
    check_choice("format", format, FORMATS)
    if opset is not None and format != "onnx":
        raise SenetError("--opset is for ONNX; drop it for TorchScript")
    check_opset(opset)
    from ..engine.rundir import RUN_FILES

    inputs = [checkpoint] if isinstance(checkpoint, str | os.PathLike) else []
    out = check_output(out, SUFFIXES[format], inputs=inputs, keep=RUN_FILES)
    model, native, smallest = _resolve(model, checkpoint, num_classes, options)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    if format == "onnx" and weights >= ONNX_LIMIT:
        raise SenetError(
            f"{getattr(model, 'model_name', type(model).__name__)} holds {weights / 2**30:.1f} GiB of weights; "
            "one ONNX file holds under 2 GiB: export it with --format torchscript"
        )
    size = native if size is None else size
    if not isinstance(size, int) or isinstance(size, bool) or size < smallest:
        raise SenetError(f"size must be an integer of at least {smallest} for this model, got {size!r}")
    param = next(model.parameters())
    x = torch.randn(2, getattr(model, "in_chans", 3), size, size, dtype=param.dtype, device=param.device)
    with torch.no_grad():
        atomic_write(
            out,
            lambda tmp: (
                _onnx(model, x, tmp, opset, dynamic_size) if format == "onnx" else _torchscript(model, x, tmp)
            ),
        )
    return out
