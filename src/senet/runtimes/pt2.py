"""torch.export programs (``.pt2``): the PT2E int8 graph, compiled by Inductor (weights frozen, so the
quantize/dequantize pairs fold into oneDNN int8 kernels), with the weight card as the file's extra file
``senet_card.json``."""

from __future__ import annotations

import json

import torch

from .onnx import quiet_export
from .packages import need

CARD_FILE = "senet_card.json"


def save(program: torch.nn.Module, size: int, path: str, card: dict | None = None) -> None:
    """Export ``program`` (batch free, ``size`` x ``size``) and write it to ``path`` with ``card``."""
    x = torch.randn(2, 3, size, size)
    with quiet_export():
        ep = torch.export.export(program, (x,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
        extra = {CARD_FILE: json.dumps(card)} if card is not None else None
        torch.export.save(ep, path, extra_files=extra)


def load(path) -> tuple[torch.nn.Module, int, dict | None]:
    """(the program of a ``.pt2`` file as a module, its input side, its card or None)."""
    from ..hub.weights import _card_from_metadata

    need("torchao.quantization.pt2e")  # registers the quantized ops an int8 file uses
    extra = {CARD_FILE: ""}
    with quiet_export():
        program = torch.export.load(str(path), extra_files=extra).module()
    size = next(n for n in program.graph.nodes if n.op == "placeholder").meta["val"].shape[-1]
    meta = {"senet_card": extra[CARD_FILE]} if extra[CARD_FILE] else {}
    return program, int(size), _card_from_metadata(meta, repr(str(path)))


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
