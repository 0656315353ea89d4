"""torch.export programs (``.pt2``): the PT2E int8 graph, compiled by Inductor (weights frozen, so the
quantize/dequantize pairs fold into oneDNN int8 kernels), with the weight card as the file's extra file
``senet_card.json``. :func:`quantize` makes the int8 graph (``senet quantize --backend pt2e``)."""

from __future__ import annotations

import json

import torch
from torch import nn

from ..errors import SenetError
from .onnx import quiet_export
from .packages import need

CARD_FILE = "senet_card.json"


def quantize(model: nn.Module, batches: list[torch.Tensor], se: str) -> nn.Module:
    """PT2E: ``model`` (eval mode) exported (strict, batch free), prepared with the
    ``X86InductorQuantizer``, calibrated on ``batches`` and converted; ``se="float"`` leaves the SE blocks
    unquantized."""
    pt2e = need("torchao.quantization.pt2e.quantize_pt2e")
    xiq = need("torchao.quantization.pt2e.quantizer.x86_inductor_quantizer")
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


def _se_modules(model: nn.Module) -> list[str]:
    from ..layers.se import SqueezeExcitation

    return [n for n, m in model.named_modules() if isinstance(m, SqueezeExcitation)]


def save(program: torch.nn.Module, size: int, path: str, card: dict | None = None) -> None:
    """Export ``program`` (batch free, ``size`` x ``size``) and write it to ``path`` with ``card``."""
    x = torch.randn(2, 3, size, size)
    with quiet_export():
        ep = torch.export.export(program, (x,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
        extra = {CARD_FILE: json.dumps(card)} if card is not None else None
        torch.export.save(ep, path, extra_files=extra)


def load(path) -> tuple[torch.nn.Module, int, dict | None]:
    """(the program of a ``.pt2`` file as a module, its input side, its card or None)."""
    from ..hub.weights import card_from_metadata

    need("torchao.quantization.pt2e")  # registers the quantized ops an int8 file uses
    extra = {CARD_FILE: ""}
    with quiet_export():
        program = torch.export.load(str(path), extra_files=extra).module()
    size = next(n for n in program.graph.nodes if n.op == "placeholder").meta["val"].shape[-1]
    meta = {"senet_card": extra[CARD_FILE]} if extra[CARD_FILE] else {}
    return program, int(size), card_from_metadata(meta, repr(str(path)))


def runner(program, compile: bool = True):
    """A function images -> logits: ``program`` compiled by Inductor with freezing (one compilation per
    input shape); ``compile=False`` runs the converted graph as it is (int8 simulated in float: a reference)."""
    if compile:
        program = torch.compile(program, dynamic=False)

    import torch._inductor.config as inductor

    compiled: set[tuple[int, ...]] = set()  # dynamic=False: Inductor compiles once per input shape

    def run(x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        with torch.no_grad():
            if tuple(x.shape) in compiled:
                return program(x)
            compiled.add(tuple(x.shape))
            with quiet_export(), inductor.patch(freezing=compile):
                return program(x)

    return run
