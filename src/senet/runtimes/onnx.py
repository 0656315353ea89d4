"""ONNX: export with torch's dynamo exporter, run with ONNX Runtime, and the weight card in the file's
``metadata_props`` (key ``senet_card``, JSON)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ..errors import SenetError
from .packages import need

INPUT_NAME, OUTPUT_NAME = "input", "logits"
CARD_KEY = "senet_card"


@contextlib.contextmanager
def quiet_export():
    """torch.export, the ONNX exporter, OpenVINO's converter and the quantizers log their symbolic-shape
    reasoning (failed attempts as warnings with tracebacks), warn and print at length about things that are
    not errors: silence them."""
    import logging

    loggers = [
        logging.getLogger(n)
        for n in (
            "torch.fx.experimental.symbolic_shapes",
            "torch.export",
            "torch.onnx",
            "torch.utils.cpp_extension",
            "nncf",
        )
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


def export_onnx(
    model: nn.Module,
    x: torch.Tensor,
    path: str,
    opset: int | None = None,
    dynamic_size: bool = False,
    gap: bool = True,
    rewrite: bool = True,
) -> None:
    """``model`` traced at ``x`` to an ONNX file (batch free; ``dynamic_size``: height and width too), its
    spatial means written as GlobalAveragePool (``gap``; :func:`squeeze_as_global_average_pool`).
    ``rewrite``: export the copy of :func:`senet.fast.rewrite_for_runtimes` for ONNX Runtime (the same
    function, faster there: docs/performance.md)."""
    if rewrite:
        from ..fast import rewrite_for_runtimes

        model = rewrite_for_runtimes(model)[0]  # an eval-mode copy
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
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()  # torch colours its message
        first = text.splitlines()[0] if text else type(e).__name__
        raise SenetError(
            f"this model does not export with free height and width ({first[:200]}); export it at a fixed "
            "--size without --dynamic-size"
        ) from None
    if gap:
        squeeze_as_global_average_pool(path)


ONNX_LIMIT = 2**31  # protobuf's limit for one file (senet writes no external data files)


def check_fits_onnx(model: nn.Module, fix: str) -> None:
    """Refuse, in one line ending with ``fix``, a model whose weights one ONNX file cannot hold."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    if weights >= ONNX_LIMIT:
        raise SenetError(
            f"{getattr(model, 'model_name', type(model).__name__)} holds {weights / 2**30:.1f} GiB of weights; "
            f"one ONNX file holds under 2 GiB: {fix}"
        )


def to_onnx(model: nn.Module, size: int, card: dict | None = None) -> bytes:
    """``model`` (eval mode) exported to ONNX in a temporary folder (:func:`export_onnx`: float32, batch
    free, ``size`` x ``size``), with ``card`` in its metadata: the file's bytes."""
    check_fits_onnx(model, "run it in torch or OpenVINO")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        x = torch.randn(2, getattr(model, "in_chans", 3), size, size)
        with torch.no_grad():
            export_onnx(model, x, path)
        return with_card(Path(path).read_bytes(), card)


def squeeze_as_global_average_pool(path: str) -> int:
    """Rewrite, in the file at ``path``, every ``ReduceMean`` over the spatial axes (2, 3) of a 4-D tensor
    with ``keepdims`` -- the SE squeeze, Eq. 2, as the exporter writes ``x.mean((2, 3), keepdim=True)`` --
    as ``GlobalAveragePool``: the same function, and the op ONNX Runtime has NCHWc and int8 kernels for
    (``QLinearGlobalAveragePool``). Its quantizer leaves ReduceMean in float between a dequantize and a
    quantize: in an int8 SE-ResNet-50 at batch 1 the squeezes took 12.8 of 37 ms (docs/performance.md).
    Returns the number of nodes rewritten."""
    onnx = need("onnx")
    from onnx import helper, numpy_helper

    model = onnx.load(path)
    g = model.graph
    shapes = onnx.shape_inference.infer_shapes(model).graph
    rank = {v.name: len(v.type.tensor_type.shape.dim) for v in [*shapes.value_info, *shapes.input]}
    inits = {i.name: i for i in g.initializer}
    consts = {n.output[0]: n for n in g.node if n.op_type == "Constant"}
    count = 0
    for n in list(g.node):
        if n.op_type != "ReduceMean" or rank.get(n.input[0]) != 4:
            continue
        keep = next((a.i for a in n.attribute if a.name == "keepdims"), 1)
        axes = next((list(a.ints) for a in n.attribute if a.name == "axes"), None)
        if axes is None and len(n.input) > 1:
            src = n.input[1]
            if src in inits:
                axes = numpy_helper.to_array(inits[src]).tolist()
            elif src in consts:
                axes = numpy_helper.to_array(consts[src].attribute[0].t).tolist()
        if keep != 1 or axes is None or sorted(a % 4 for a in axes) != [2, 3]:
            continue
        gap = helper.make_node("GlobalAveragePool", [n.input[0]], list(n.output), name=n.name)
        i = list(g.node).index(n)
        g.node.remove(n)
        g.node.insert(i, gap)
        count += 1
    if count:
        used = {i for n in g.node for i in n.input}
        keep = [t for t in g.initializer if t.name in used]  # the axes the rewritten nodes took
        del g.initializer[:]
        g.initializer.extend(keep)
        onnx.save(model, path)
    return count


def with_card(program: bytes, card: dict | None) -> bytes:
    """The ONNX model ``program`` with ``card`` in its metadata (replacing one it held)."""
    if card is None:
        return program
    onnx = need("onnx")
    m = onnx.load_from_string(program)
    keep = [p for p in m.metadata_props if p.key != CARD_KEY]
    del m.metadata_props[:]
    m.metadata_props.extend(keep)
    m.metadata_props.add(key=CARD_KEY, value=json.dumps(card))
    return m.SerializeToString()


def read_card(program: bytes, where) -> dict | None:
    """The card an ONNX file holds (None: a file senet did not write)."""
    from ..hub.weights import card_from_metadata

    onnx = need("onnx")
    m = onnx.load_from_string(program)
    return card_from_metadata({p.key: p.value for p in m.metadata_props}, where)


def input_size(program: bytes) -> int | None:
    """The square input side an ONNX file was exported at (None: free height and width)."""
    onnx = need("onnx")
    dims = onnx.load_from_string(program).graph.input[0].type.tensor_type.shape.dim
    side = dims[-1].dim_value if len(dims) == 4 else 0
    return int(side) if side > 0 else None


def ort_runner(program: bytes, threads: int | None = None):
    """A function images -> logits (float32 torch tensors) running ``program`` in ONNX Runtime (CPU)."""
    ort = need("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(program, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def run(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.detach().float().cpu().numpy()})[0])

    return run
