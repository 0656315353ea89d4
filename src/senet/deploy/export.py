"""``export``: a model to ONNX (dynamic batch, checked by onnxruntime in the tests) or TorchScript.

The file is written to a temporary file in the target directory and renamed on success, so a failed
export leaves nothing behind. ONNX uses torch's dynamo exporter (``torch.onnx.export(dynamo=True)``): the
SE squeeze becomes ``ReduceMean`` (or ``GlobalAveragePool``), the batch dimension is symbolic ("batch").
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from ..core.io import atomic_write, check_output
from ..errors import SenetError
from ..layers.se import check_choice
from ..runtimes.onnx import INPUT_NAME, OUTPUT_NAME, check_fits_onnx, export_onnx, quiet_export, with_card

__all__ = ["export", "INPUT_NAME", "OUTPUT_NAME", "quiet_export", "FORMATS"]

FORMATS = ("onnx", "torchscript", "openvino")
MIN_OPSET = 18  # torch.onnx.export(dynamo=True) writes opset 18 and newer; lower ones fail to convert
SUFFIXES = {"onnx": (".onnx",), "torchscript": (".pt", ".pth", ".ts", ".torchscript"), "openvino": (".xml",)}


def _resolve(model, checkpoint, num_classes, options) -> tuple[nn.Module, int, int, list | None]:
    """The model in eval mode, its native input size, its smallest one, the class names its checkpoint
    records."""
    from ..models.factory import create_model, model_info

    if isinstance(model, str):
        if checkpoint is not None:  # the card's options (add_se=True, where=...) rebuild the same network
            from ..evaluation.evaluator import _resolve as card_options

            model, options, card = card_options(model, checkpoint, options)
        info = model_info(model)
        model = create_model(model, num_classes=num_classes, checkpoint=checkpoint, **options)
        classes = (card or {}).get("classes") if checkpoint is not None else None
        size = model.default_cfg.get("input_size", info.input_size)[-1]  # a card's preprocessing counts
        return model.eval(), size, info.min_input_size, classes
    if not isinstance(model, nn.Module):
        raise SenetError(f"export needs a model name or a torch.nn.Module, got {type(model).__name__}")
    if options or num_classes is not None:
        raise SenetError("model options and num_classes apply to a model name, not to a built model")
    classes = None
    if checkpoint is not None:
        from ..hub.weights import load_weights, read_weights

        load_weights(model, checkpoint)
        classes = (read_weights(checkpoint)[1] or {}).get("classes")
    cfg = getattr(model, "default_cfg", {})
    return model.eval(), cfg.get("input_size", (3, 224, 224))[-1], cfg.get("min_input_size", 8), classes


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


def _onnx(model, x, path, opset, dynamic_size, card) -> None:
    export_onnx(model, x, path, opset, dynamic_size)
    if card is not None:  # the weight card in the file's metadata: eval/predict read it back
        Path(path).write_bytes(with_card(Path(path).read_bytes(), card))


def _torchscript(model: nn.Module, x: torch.Tensor, path: str, card) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (x,), check_trace=False)
    traced.save(path, _extra_files={"senet_card.json": json.dumps(card)} if card is not None else None)


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
    """Write ``model`` (a registered name or a module) to ``out`` as ONNX, TorchScript or OpenVINO IR
    (``.xml`` and its ``.bin``); return the path.

    ``size``: the square input the graph is traced at (default: the model's native size; the batch
    stays dynamic; ``dynamic_size``: height and width too). ``checkpoint``: weights to
    load first; ``options``: create_model options (SE knobs). The model's weight card (name, options,
    classes, preprocessing at ``size``) goes into the file, so ``senet eval``/``predict --checkpoint FILE``
    run it as they run the checkpoint.
    """
    if dynamic_size and format == "torchscript":
        raise SenetError(
            "--dynamic-size is for ONNX and OpenVINO; a TorchScript trace keeps the sizes it saw"
        )
    check_choice("format", format, FORMATS)
    if opset is not None and format != "onnx":
        raise SenetError(f"--opset is for ONNX; drop it for {format}")
    check_opset(opset)
    from ..engine.rundir import RUN_FILES

    inputs = [checkpoint] if isinstance(checkpoint, str | os.PathLike) else []
    out = check_output(out, SUFFIXES[format], inputs=inputs, keep=RUN_FILES)
    model, native, smallest, classes = _resolve(model, checkpoint, num_classes, options)
    if format == "onnx":
        check_fits_onnx(model, "export it with --format torchscript")
    size = native if size is None else size
    if not isinstance(size, int) or isinstance(size, bool) or size < smallest:
        raise SenetError(f"size must be an integer of at least {smallest} for this model, got {size!r}")
    param = next(model.parameters())
    in_chans = getattr(model, "in_chans", 3)
    x = torch.randn(2, in_chans, size, size, dtype=param.dtype, device=param.device)
    card = _card(model, classes, None if dynamic_size else (in_chans, size, size))
    if format == "openvino":
        from ..runtimes import openvino

        openvino.save(openvino.convert(model, None if dynamic_size else size, in_chans), out, card)
        return out
    write = _onnx if format == "onnx" else _torchscript
    args = (opset, dynamic_size) if format == "onnx" else ()
    with torch.no_grad():
        atomic_write(out, lambda tmp: write(model, x, tmp, *args, card))
    return out


def _card(model: nn.Module, classes, input_size) -> dict:
    """The weight card a deployed file carries: the model's, with the input size it was exported at."""
    from ..hub.weights import model_card

    card = model_card(model, classes)
    if input_size is not None and "preprocess" in card:
        card["preprocess"]["input_size"] = list(input_size)
    return card
