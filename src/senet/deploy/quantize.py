"""int8 for the CPU: post-training static quantization, calibrated on images of a data set.

Two backends, both measured in ``docs/performance.md`` (``senet bench`` times them side by side):

- ``"pt2e"``: PyTorch 2 export quantization, the flow torch documents as current (``torchao.quantization.
  pt2e``: ``torch.export`` -> ``prepare_pt2e`` with the ``X86InductorQuantizer`` -> calibrate ->
  ``convert_pt2e``), run by Inductor with weights frozen, which lowers the quantized patterns to oneDNN
  int8 kernels. Saved as a ``.pt2`` file (``torch.export.save``).
- ``"ort"``: ONNX Runtime static quantization (``onnxruntime.quantization.quantize_static``, QDQ format,
  per-channel int8 weights, uint8 activations) of the model exported by :func:`senet.export`. Saved as an
  ``.onnx`` file that any ONNX Runtime serves.

The SE block (Sec. 3, Eq. 2-4) is handled deliberately: ``se="int8"`` quantizes its two FCs like every
other conv (the sigmoid gate and the channel-wise scale stay in float in both backends: neither quantizer
has an int8 sigmoid or a per-channel-scale multiply); ``se="float"`` keeps the whole block (squeeze, FCs,
gate, scale) in float; ``se="auto"`` (the default) takes the one measured faster for the backend
(:data:`SE_AUTO`; docs/performance.md).

Calibration: activation ranges (min/max observers) from ``calibration`` batches; the weights are
quantized per output channel. :func:`compare` reports the quantized model's top-1 agreement with the
float model and both errors on held-out images.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ..errors import SenetError
from ..layers.se import check_choice
from .export import INPUT_NAME, export, quiet_export

BACKENDS = ("pt2e", "ort")
SE_PRECISIONS = ("auto", "int8", "float")
# "auto": the faster of the two in benchmarks/results/cpu_deploy_backends_b1.json (se_resnet50, batch 1):
# ONNX Runtime runs the SE block faster in float, Inductor in int8; agreement was equal (100% on digits).
SE_AUTO = {"ort": "float", "pt2e": "int8"}
SUFFIX = {"pt2e": ".pt2", "ort": ".onnx"}


def _need(module: str, extra: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise SenetError(f"int8 needs {module.split('.')[0]}: pip install {extra}") from None


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


def _se_modules(model: nn.Module) -> list[str]:
    from ..layers.se import SqueezeExcitation

    return [n for n, m in model.named_modules() if isinstance(m, SqueezeExcitation)]


@dataclass
class DeployedModel:
    """A model for a CPU runtime (int8, or float32 in ONNX Runtime): call it on float images (N, C, H, W)
    for float logits; ``save(path)`` writes it."""

    backend: str
    se: str | None  # int8 models: "int8" or "float" (the SE blocks' precision); None: a float32 model
    size: int
    program: object = field(repr=False)  # pt2e: the converted GraphModule; ort: the ONNX bytes
    threads: int | None = None
    compile: bool = True
    _runner: object = field(default=None, repr=False)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self._runner is None:
            self._runner = _pt2e_runner(self) if self.backend == "pt2e" else _ort_runner(self)
        return self._runner(x)

    def save(self, path) -> Path:
        """Write the quantized model: ``.pt2`` (pt2e) or ``.onnx`` (ort), atomically."""
        from ..core.io import atomic_write, check_output

        out = check_output(path, (SUFFIX[self.backend],))
        if self.backend == "ort":
            atomic_write(out, lambda tmp: Path(tmp).write_bytes(self.program))
            return out
        x = torch.randn(2, 3, self.size, self.size)
        with quiet_export():
            ep = torch.export.export(self.program, (x,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
            atomic_write(out, lambda tmp: torch.export.save(ep, tmp))
        return out


def load_quantized(path, threads: int | None = None, compile: bool = True) -> DeployedModel:
    """A model written by :meth:`DeployedModel.save` (``.pt2`` or ``.onnx``)."""
    path = Path(path)
    backend = {v: k for k, v in SUFFIX.items()}.get(path.suffix.lower())
    if backend is None:
        raise SenetError(f"{str(path)!r}: a quantized model is a .pt2 (pt2e) or .onnx (ort) file")
    if not path.is_file():
        raise SenetError(f"{str(path)!r} does not exist")
    if backend == "ort":
        program = path.read_bytes()
        size = _onnx_size(program)
    else:
        _need("torchao.quantization.pt2e", "torchao")  # registers the quantized ops the file uses
        with quiet_export():
            program = torch.export.load(str(path)).module()
        size = next(n for n in program.graph.nodes if n.op == "placeholder").meta["val"].shape[-1]
    return DeployedModel(backend, "recorded", int(size), program, threads, compile)


def _onnx_size(program: bytes) -> int:
    onnx = _need("onnx", "onnx")
    dims = onnx.load_from_string(program).graph.input[0].type.tensor_type.shape.dim
    return int(dims[-1].dim_value)


# ---- PT2E --------------------------------------------------------------------------------------------
def _pt2e(model: nn.Module, batches: list[torch.Tensor], se: str) -> nn.Module:
    pt2e = _need("torchao.quantization.pt2e.quantize_pt2e", "torchao")
    xiq = _need("torchao.quantization.pt2e.quantizer.x86_inductor_quantizer", "torchao")
    quantizer = xiq.X86InductorQuantizer()
    quantizer.set_global(xiq.get_default_x86_inductor_quantization_config())
    if se == "float":
        for name in _se_modules(model):
            quantizer.set_module_name_qconfig(name, None)
    x = batches[0][:2] if len(batches[0]) > 1 else batches[0].expand(2, -1, -1, -1)
    with quiet_export():
        # strict: each call of a shared module (a ReLU used twice in a block) gets its own source
        # partition; non-strict export merges them and the quantizer refuses the graph.
        try:
            graph = torch.export.export(
                model, (x,), strict=True, dynamic_shapes=({0: torch.export.Dim.DYNAMIC},)
            ).module()
        except Exception as e:
            raise SenetError(
                f"this model does not export for PT2E quantization ({str(e).splitlines()[0][:160]}); "
                "try backend='ort'"
            ) from None
        prepared = pt2e.prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for b in batches:
                prepared(b)
        return pt2e.convert_pt2e(prepared)


def _pt2e_runner(q: DeployedModel):
    program = q.program
    if q.compile:
        # freezing: weights become constants so Inductor can fold the quantize/dequantize pairs into
        # oneDNN int8 convolutions; without compiling, the converted graph runs in float (a reference).
        program = torch.compile(program, dynamic=False)

    import torch._inductor.config as inductor

    compiled: set[tuple[int, ...]] = set()  # dynamic=False: Inductor compiles once per input shape

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        with torch.no_grad():
            if tuple(x.shape) in compiled:
                return program(x)
            compiled.add(tuple(x.shape))
            with quiet_export(), inductor.patch(freezing=q.compile):
                return program(x)

    return run


# ---- ONNX Runtime ------------------------------------------------------------------------------------
def _ort(model: nn.Module, batches: list[torch.Tensor], se: str) -> bytes:
    oq = _need("onnxruntime.quantization", "onnxruntime")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    size = batches[0].shape[-1]
    with tempfile.TemporaryDirectory() as tmp:
        fp32, pre, out = (os.path.join(tmp, n) for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        export(model, fp32, size=size)

        class Reader(oq.CalibrationDataReader):
            def __init__(self):
                self.it = iter(batches)

            def get_next(self):
                b = next(self.it, None)
                return None if b is None else {INPUT_NAME: b.numpy()}

        with quiet_export():
            quant_pre_process(fp32, pre)
            oq.quantize_static(
                pre,
                out,
                Reader(),
                quant_format=oq.QuantFormat.QDQ,
                per_channel=True,
                activation_type=oq.QuantType.QUInt8,
                weight_type=oq.QuantType.QInt8,
                nodes_to_exclude=_onnx_se_nodes(pre) if se == "float" else [],
            )
        return Path(out).read_bytes()


GATES = {"Sigmoid", "HardSigmoid", "Tanh", "Relu", "Clip"}
SQUEEZES = {"ReduceMean", "GlobalAveragePool", "ReduceMax", "GlobalMaxPool"}


def _onnx_se_nodes(path: str) -> list[str]:
    """Names of the SE blocks' nodes in an ONNX graph: every node on a path from a squeeze (ReduceMean /
    GlobalAveragePool) to the multiply that scales the feature map with the gate (Eq. 2-4)."""
    import onnx

    g = onnx.load(path).graph
    producer = {o: n for n in g.node for o in n.output}
    names = set()
    for mul in (n for n in g.node if n.op_type == "Mul"):
        for gate_out in mul.input:
            path_nodes, node = [], producer.get(gate_out)
            while node is not None and node.op_type not in SQUEEZES and len(path_nodes) < 8:
                path_nodes.append(node)
                ins = [i for i in node.input if i in producer]
                node = producer[ins[0]] if ins else None
            if node is not None and node.op_type in SQUEEZES and any(p.op_type in GATES for p in path_nodes):
                names.update(n.name for n in [*path_nodes, node, mul])
    return sorted(names)


def _ort_runner(q: DeployedModel):
    ort = _need("onnxruntime", "onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = q.threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(q.program, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.detach().float().cpu().numpy()})[0])

    return run


def onnx_runtime(model: nn.Module, size: int, threads: int | None = None) -> DeployedModel:
    """``model`` exported to ONNX (float32, batch free, ``size`` x ``size``) and run by ONNX Runtime: the
    float baseline beside the int8 backends in ``senet bench`` (``ort:MODEL``)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fp32.onnx")
        export(model, path, size=size)
        return DeployedModel("ort", None, size, Path(path).read_bytes(), threads)


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
    ``"ort"`` (ONNX Runtime) or ``"pt2e"`` (PyTorch 2 export + Inductor; ``compile=False`` runs the
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
    program = _pt2e(model, batches, se) if backend == "pt2e" else _ort(model, batches, se)
    return DeployedModel(backend, se, batches[0].shape[-1], program, threads, compile)


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
