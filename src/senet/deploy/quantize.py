"""int8 for the CPU: post-training static quantization, calibrated on images of a data set.

Three backends, measured in ``docs/performance.md`` (``senet bench`` times them side by side):

- ``"pt2e"``: PyTorch 2 export quantization, the flow torch documents as current (``torchao.quantization.
  pt2e``: ``torch.export`` -> ``prepare_pt2e`` with the ``X86InductorQuantizer`` -> calibrate ->
  ``convert_pt2e``), run by Inductor with weights frozen, which lowers the quantized patterns to oneDNN
  int8 kernels. Saved as a ``.pt2`` file (``torch.export.save``).
- ``"ort"``: ONNX Runtime static quantization (``onnxruntime.quantization.quantize_static``, QDQ format,
  per-channel int8 weights, uint8 activations) of the model exported by :func:`senet.export`. Saved as an
  ``.onnx`` file that any ONNX Runtime serves.
- ``"openvino"``: NNCF post-training quantization (``nncf.quantize``) of the model converted by
  ``openvino.convert_model``; saved as OpenVINO IR (``.xml`` + ``.bin``), run by OpenVINO's CPU plugin.

Every file carries the float model's weight card (name, options, classes, preprocessing), so ``senet
eval``/``senet predict --checkpoint FILE`` run it as they run the checkpoint it came from.

The SE block (Sec. 3, Eq. 2-4) is handled deliberately: ``se="int8"`` quantizes its two FCs like every
other conv (the sigmoid gate and the channel-wise scale stay in float in both backends: neither quantizer
has an int8 sigmoid or a per-channel-scale multiply); ``se="float"`` keeps the whole block (squeeze, FCs,
gate, scale) in float; ``se="auto"`` (the default) takes the one measured faster for the backend
(:data:`SE_AUTO`; docs/performance.md).

Calibration: activation ranges (min/max observers) from ``calibration`` batches; the weights are
quantized per output channel. :func:`compare` reports the quantized model's top-1 agreement with the
float model and both errors on held-out images.

This module is the verb (checks, calibration batches, the card, the comparison); each backend's quantizer
lives beside its runtime: :func:`senet.runtimes.pt2.quantize`, :func:`senet.runtimes.onnx_int8.quantize`,
:func:`senet.runtimes.openvino.quantize`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import SenetError
from ..layers.se import check_choice
from ..runtimes import onnx as O
from ..runtimes import onnx_int8
from ..runtimes import openvino as V
from ..runtimes import pt2 as P
from ..runtimes.packages import need
from .export import _card as export_card

BACKENDS = ("pt2e", "ort", "openvino")
SE_PRECISIONS = ("auto", "int8", "float")
# "auto": the faster of the two in benchmarks/results/cpu_deploy_backends_b1.json (se_resnet50, batch 1):
# ONNX Runtime runs the SE block faster in float, Inductor in int8; agreement was equal (100% on digits).
SE_AUTO = {"ort": "float", "pt2e": "int8", "openvino": "int8"}
SUFFIX = {"pt2e": ".pt2", "ort": ".onnx", "openvino": ".xml"}
PACKAGES = {"pt2e": ("torchao",), "ort": ("onnx", "onnxruntime"), "openvino": ("openvino", "nncf")}


def _check_threads(threads) -> None:
    if threads is not None and (not isinstance(threads, int) or isinstance(threads, bool) or threads < 1):
        raise SenetError(f"threads must be a positive integer, got {threads!r}")


def _batches(calibration) -> list[torch.Tensor]:
    """Calibration batches as float tensors (N, C, H, W): a tensor, or an iterable of tensors or of
    (images, targets) pairs such as a DataLoader."""
    if isinstance(calibration, torch.Tensor):
        calibration = [calibration]
    if not isinstance(calibration, Iterable):
        raise SenetError(
            f"calibration must be a tensor or batches of images, got {type(calibration).__name__}"
        )
    out = []
    for b in calibration:
        if b is None:
            continue  # a batch of unreadable images (senet.data.collate)
        x = b[0] if isinstance(b, tuple | list) else b
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
            raise SenetError("calibration batches must be float image tensors (N, C, H, W)")
        out.append(x.float().cpu())
    if not out:
        raise SenetError("no calibration images: give at least one batch")
    return out


@dataclass
class DeployedModel:
    """A model for a CPU runtime (int8, or float32 in ONNX Runtime): call it on float images (N, C, H, W)
    for float logits; ``save(path)`` writes it."""

    backend: str
    se: str | None  # int8 models: "int8" or "float" (the SE blocks' precision); None: a float32 model
    size: int
    program: object = field(repr=False)  # pt2e: the GraphModule; ort: the ONNX bytes; openvino: ov.Model
    threads: int | None = None
    compile: bool = True
    card: dict | None = None  # the float model's weight card, written into the file
    _runner: object = field(default=None, repr=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._runner is None:
            if self.backend == "pt2e":
                self._runner = P.runner(self.program, self.compile)
            elif self.backend == "ort":
                self._runner = O.ort_runner(self.program, self.threads)
            else:
                self._runner = V.runner(self.program, self.threads)
        return self._runner(x)

    def save(self, path) -> Path:
        """Write the quantized model: ``.pt2`` (pt2e), ``.onnx`` (ort) or ``.xml`` + ``.bin`` (openvino),
        atomically, with the weight card."""
        from ..core.io import atomic_write, check_output

        out = check_output(path, (SUFFIX[self.backend],))
        if self.backend == "ort":
            program = O.with_card(self.program, self.card)
            atomic_write(out, lambda tmp: Path(tmp).write_bytes(program))
        elif self.backend == "openvino":
            V.save(self.program, out, self.card)
        else:
            atomic_write(out, lambda tmp: P.save(self.program, self.size, tmp, self.card))
        return out


def load_quantized(path, threads: int | None = None, compile: bool = True) -> DeployedModel:
    """A model written by :meth:`DeployedModel.save` (``.pt2``, ``.onnx`` or ``.xml``)."""
    path = Path(path)
    backend = {v: k for k, v in SUFFIX.items()}.get(path.suffix.lower())
    if backend is None:
        raise SenetError(
            f"{str(path)!r}: a quantized model is a .pt2 (pt2e), .onnx (ort) or .xml (openvino) file"
        )
    if not path.is_file():
        raise SenetError(f"{str(path)!r} does not exist")
    if backend == "ort":
        program = path.read_bytes()
        size, card = O.input_size(program), O.read_card(program, repr(str(path)))
    elif backend == "openvino":
        program, card = V.read(path)
        size = V.input_size(program)
    else:
        program, size, card = P.load(path)
    return DeployedModel(backend, "recorded", int(size or 0), program, threads, compile, card)


def onnx_runtime(model: nn.Module, size: int, threads: int | None = None) -> DeployedModel:
    """``model`` exported to ONNX (float32, batch free, ``size`` x ``size``) and run by ONNX Runtime: the
    float baseline beside the int8 backends in ``senet bench`` (``ort:MODEL``); the same export as
    ``--runtime ort`` (:func:`senet.runtimes.onnx.to_onnx`), with the card :func:`senet.export` writes."""
    model = model.eval()
    card = export_card(model, None, (getattr(model, "in_chans", 3), size, size))
    return DeployedModel("ort", None, size, O.to_onnx(model, size, card), threads)


# ---- the public functions ----------------------------------------------------------------------------
def quantize(
    model: nn.Module,
    calibration,
    *,
    backend: str = "ort",
    se: str = "auto",
    threads: int | None = None,
    compile: bool = True,
) -> DeployedModel:
    """Post-training static int8 quantization of ``model`` (eval mode, float32, CPU) for the CPU.

    ``calibration``: images (a tensor, or batches / a DataLoader of (images, targets)) that set the
    activation ranges; a few hundred images of the training data are the usual amount. ``backend``:
    ``"ort"`` (ONNX Runtime), ``"openvino"`` (NNCF, OpenVINO IR) or ``"pt2e"`` (PyTorch 2 export +
    Inductor; ``compile=False`` runs the
    converted graph in float as a numerical reference, slowly). ``se``: ``"int8"`` or ``"float"`` (module
    docstring). Returns a :class:`DeployedModel`; the original model is not changed.
    """
    check_choice("backend", backend, BACKENDS)
    check_choice("se", se, SE_PRECISIONS)
    _check_threads(threads)
    se = SE_AUTO[backend] if se == "auto" else se
    if not isinstance(model, nn.Module):
        raise SenetError(f"quantize needs a torch.nn.Module, got {type(model).__name__}")
    p = next(model.parameters(), None)
    if p is not None and (p.device.type != "cpu" or p.dtype != torch.float32):
        raise SenetError(f"quantize takes a float32 CPU model; this one is {p.dtype} on {p.device.type}")
    batches = _batches(calibration)
    sizes = {tuple(b.shape[1:]) for b in batches}
    if len(sizes) != 1 or batches[0].shape[-1] != batches[0].shape[-2]:
        raise SenetError(f"calibration images must share one square size, got {sorted(sizes)}")
    import copy

    model = copy.deepcopy(model).eval()
    build = {"pt2e": P.quantize, "ort": onnx_int8.quantize, "openvino": V.quantize}[backend]
    program = build(model, batches, se)
    from ..hub.weights import model_card

    card = model_card(model) if getattr(model, "model_name", None) else None
    return DeployedModel(backend, se, batches[0].shape[-1], program, threads, compile, card)


def compare(float_model: nn.Module, quantized, batches) -> dict:
    """Top-1 agreement of ``quantized`` with ``float_model`` and both top-1 errors, over (images, targets)
    batches: how much int8 changes the predictions, beside how much it changes the error."""
    agree = wrong_f = wrong_q = n = 0
    float_model = float_model.eval()
    with torch.inference_mode():
        for b in batches:
            if b is None:
                continue
            x, y = b[0], b[1]
            # argmax, as senet.evaluate: int8 logits can tie exactly, and argmax takes the first of equals
            # whatever the batch (topk does not say which), so `senet eval` of the file prints these errors
            pf, pq = float_model(x).argmax(1), quantized(x).argmax(1)
            agree += int((pf == pq).sum())
            wrong_f += int((pf != y).sum())
            wrong_q += int((pq != y).sum())
            n += len(y)
    if not n:
        raise SenetError("no held-out images to compare on")
    return {
        "images": n,
        "agreement": 100 * agree / n,
        "float_top1_error": 100 * wrong_f / n,
        "int8_top1_error": 100 * wrong_q / n,
    }


def quantize_data(
    model: str | nn.Module | None = None,
    *,
    checkpoint=None,
    data: str = "digits",
    calib: int = 256,
    held_out: int | None = None,
    backend: str = "ort",
    se: str = "auto",
    out=None,
    batch_size: int = 64,
    threads: int | None = None,
    model_options: dict | None = None,
) -> dict:
    """``senet quantize``: calibrate on ``calib`` training images of ``data`` (shown as at evaluation),
    write the int8 model to ``out`` and compare it with the float model on the validation split
    (``held_out`` images of it; default all). Returns the comparison with timings and the file."""
    from .. import data as D
    from ..evaluation.evaluator import _input_view, _model, _resolve

    for name, value, low in (("calib", calib, 1), ("batch_size", batch_size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SenetError(f"{name} must be an integer >= {low}, got {value!r}")
    if held_out is not None and (not isinstance(held_out, int) or isinstance(held_out, bool) or held_out < 1):
        raise SenetError(f"held_out must be a positive integer, got {held_out!r}")
    check_choice("backend", backend, BACKENDS)
    check_choice("se", se, SE_PRECISIONS)
    _check_threads(threads)
    se = SE_AUTO[backend] if se == "auto" else se
    for module in PACKAGES[backend]:  # before the data and the model are built
        need(module)
    if out is not None:
        from ..core.io import check_output
        from ..engine.rundir import RUN_FILES

        inputs = [checkpoint] if isinstance(checkpoint, str | os.PathLike) else []
        out = check_output(out, (SUFFIX[backend],), inputs=inputs, keep=RUN_FILES)
    model, options, card = _resolve(model, checkpoint, model_options or {})
    kind, _ = D.parse(data)
    views = D.Views()
    if kind == "imagefolder":
        size, crop_pct, interpolation = _input_view(model, None, card)
        views = D.Views(eval_resize=round(size / crop_pct), eval_crop=size, interpolation=interpolation)
    train, val, classes, _ = D.build(data, views)
    train.dataset.transform = val.dataset.transform  # calibration images are shown as at evaluation
    from ..hub.weights import check_classes

    check_classes(card, classes, repr(str(checkpoint)), use="calibrate and compare")
    net = _model(model, checkpoint, len(classes), options).eval()
    if calib > len(train):
        raise SenetError(f"calib={calib}: the training split has {len(train)} images")
    g = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train), generator=g)[:calib].tolist()
    cal = D.loader(torch.utils.data.Subset(train, pick), batch_size, workers=0)
    start = time.perf_counter()
    q = quantize(net, cal, backend=backend, se=se, threads=threads)
    seconds = time.perf_counter() - start
    from ..hub.weights import model_card

    q.card = model_card(net, classes)  # eval/predict --checkpoint FILE: the classes and preprocessing
    if out is not None:
        q.save(out)
    if held_out is not None:
        val = torch.utils.data.Subset(val, range(min(held_out, len(val))))
    result = compare(net, q, D.loader(val, batch_size, workers=0))
    return {
        "model": getattr(net, "model_name", type(net).__name__),
        "backend": backend,
        "se": se,
        "data": data,
        "calibration_images": calib,
        "quantize_seconds": round(seconds, 2),
        "out": str(out) if out is not None else None,
        **result,
    }
