"""OpenVINO: a PyTorch model converted to OpenVINO's IR (``openvino.convert_model``), saved as ``.xml`` +
``.bin`` (float32 weights: ``compress_to_fp16=False``) with the weight card in the model's ``rt_info``
(``senet_card``), and compiled for the CPU in float32 (``INFERENCE_PRECISION_HINT=f32``: on a CPU with
bf16 support OpenVINO would otherwise run float models in bf16), for latency (``PERFORMANCE_HINT=LATENCY``).
OpenVINO also reads ``.onnx`` files, so an exported ONNX model runs in either runtime. int8: NNCF's
post-training quantization of the converted model (:func:`quantize`; ``senet quantize --backend openvino``)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import SenetError
from .onnx import CARD_KEY, quiet_export
from .packages import need


def convert(model: nn.Module, size: int | None, in_chans: int = 3, rewrite: bool = True):
    """``model`` (eval mode) as an ``openvino.Model`` with a free batch (and free height and width when
    ``size`` is None). ``rewrite``: convert the copy of :func:`senet.fast.rewrite_for_runtimes` (the same
    function: the SE squeeze reads conv3's input, so OpenVINO keeps conv3 fused with the residual add, and
    the last unit of a stage computes its end only where the next stage's stride-2 convs read): faster in
    float32 (docs/performance.md); NNCF's int8 converts the model as it is (there conv3 then wrote float32
    instead of int8, slower)."""
    ov = need("openvino")
    if rewrite:
        from ..fast import rewrite_for_runtimes

        model = rewrite_for_runtimes(model.eval())[0]
    example = torch.randn(2, in_chans, size or 224, size or 224)
    shape = ov.PartialShape([-1, in_chans, size or -1, size or -1])
    with quiet_export(), torch.no_grad():
        try:
            return ov.convert_model(model.eval(), example_input=example, input=[shape])
        except Exception as e:  # OpConversionFailure and friends: a page of frontend log
            lines = [line.strip() for line in str(e).splitlines() if line.strip()]
            why = next(
                (line for line in lines if "Failed operations" in line or "Consumer" in line),
                lines[0] if lines else type(e).__name__,
            )
            raise SenetError(
                f"OpenVINO cannot convert this model at {size or 'a free'} px ({why[:200]}); try another --size, "
                "or export to ONNX"
            ) from None


def save(ov_model, path, card: dict | None = None) -> Path:
    """Write ``ov_model`` to ``path`` (``.xml``, its weights beside it in ``.bin``): both written in a
    temporary folder beside them and renamed, the weights first, so no reader sees a half-written pair."""
    ov = need("openvino")
    path = Path(path)
    if card is not None:
        ov_model.set_rt_info(json.dumps(card), [CARD_KEY])
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.stem}.") as tmp:
        xml = Path(tmp) / "model.xml"
        ov.save_model(ov_model, str(xml), compress_to_fp16=False)
        os.replace(xml.with_suffix(".bin"), path.with_suffix(".bin"))
        os.replace(xml, path)
    return path


def read(path):
    """(the ``openvino.Model`` of an ``.xml`` or ``.onnx`` file, its card or None)."""
    from ..hub.weights import card_from_metadata

    ov = need("openvino")
    path = Path(path)
    if path.suffix.lower() == ".xml" and not path.with_suffix(".bin").is_file():
        raise SenetError(f"{str(path)!r}: its weights {path.with_suffix('.bin').name!r} are not beside it")
    try:
        model = ov.Core().read_model(str(path))
    except RuntimeError as e:
        raise SenetError(
            f"{str(path)!r} is not a model OpenVINO reads ({str(e).splitlines()[0][:160]})"
        ) from None
    meta = {}
    if model.has_rt_info([CARD_KEY]):
        meta[CARD_KEY] = model.get_rt_info([CARD_KEY]).astype(str)
    return model, card_from_metadata(meta, repr(str(path)))


def input_size(ov_model) -> int | None:
    """The square input side of an OpenVINO model (None: free)."""
    shape = ov_model.inputs[0].get_partial_shape()
    side = shape[3] if shape.rank.get_length() == 4 else None
    return side.get_length() if side is not None and side.is_static else None


def runner(ov_model, threads: int | None = None, precision: str = "f32"):
    """A function images -> logits (float32 torch tensors) running ``ov_model`` on the CPU: one infer
    request, ``threads`` threads (default torch's), latency hint, ``precision`` f32 (exact float) or bf16."""
    ov = need("openvino")
    config = {
        "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()),
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
    }
    compiled = ov.Core().compile_model(ov_model, "CPU", config)
    request = compiled.create_infer_request()

    def run(x: torch.Tensor) -> torch.Tensor:
        request.infer({0: np.ascontiguousarray(x.detach().float().cpu().numpy())})
        return torch.from_numpy(request.get_output_tensor(0).data.copy())

    return run


def quantize(model: nn.Module, batches: list[torch.Tensor], se: str):
    """NNCF's post-training quantization of the OpenVINO model (int8 weights per channel, activations per
    tensor; the ``PERFORMANCE`` preset: symmetric), calibrated on every image, one at a time."""
    with quiet_export():
        nncf = need("nncf")
    images = [b[i : i + 1] for b in batches for i in range(len(b))]
    ov_model = convert(model, batches[0].shape[-1], batches[0].shape[1], rewrite=False)
    ignored = nncf.IgnoredScope(names=ov_se_nodes(ov_model), validate=False) if se == "float" else None
    with quiet_export():
        return nncf.quantize(
            ov_model,
            nncf.Dataset(images, lambda x: x.numpy()),
            subset_size=len(images),
            preset=nncf.QuantizationPreset.PERFORMANCE,
            ignored_scope=ignored,
        )


def ov_se_nodes(ov_model) -> list[str]:
    """Friendly names of the SE blocks' nodes in an OpenVINO model: every node on a path from a squeeze
    (ReduceMean) to the Multiply that scales the feature map with the gate (Eq. 2-4)."""
    names = set()
    for mul in (n for n in ov_model.get_ordered_ops() if n.get_type_name() == "Multiply"):
        for i in range(mul.get_input_size()):
            path, node = [], mul.input_value(i).get_node()
            while node.get_type_name() not in ("ReduceMean", "Parameter") and len(path) < 10:
                path.append(node)
                inputs = [node.input_value(j).get_node() for j in range(node.get_input_size())]
                inputs = [n for n in inputs if n.get_type_name() != "Constant"]
                if not inputs:
                    break
                node = inputs[0]
            gated = any(p.get_type_name() in ("Sigmoid", "HSigmoid", "Tanh", "Relu", "Clamp") for p in path)
            if node.get_type_name() == "ReduceMean" and gated:
                names.update(n.get_friendly_name() for n in [*path, node, mul])
    return sorted(names)
