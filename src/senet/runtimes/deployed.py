"""Deployed files and other runtimes, used as models: ``senet eval``/``senet predict`` ``--checkpoint`` of an
``.onnx``, OpenVINO ``.xml`` or ``.pt2`` file (float32 or int8, as ``senet export`` / ``senet quantize``
write them), and ``--runtime auto|torch|ort|openvino`` for a checkpoint.

A :class:`DeployedNet` is an ``nn.Module`` without parameters whose forward runs the file in its runtime
(CPU, float32 images in, float32 logits out). It carries what the file's weight card records: the model's
name, ``num_classes``, the class names and ``default_cfg`` (the preprocessing: input size, crop fraction,
interpolation, mean, std), so the verbs show images to it as to the model it came from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from torch import nn

from ..errors import SenetError

RUNTIMES = ("auto", "torch", "ort", "openvino")
# the runtimes that read each kind of file, the first one the default
FILE_RUNTIMES = {".onnx": ("ort", "openvino"), ".xml": ("openvino",), ".pt2": ("torch",)}
KNOWN = {"ort": "onnxruntime", "openvino": "openvino"}


def is_deployed(path) -> bool:
    """Whether ``path`` names a deployed file (``.onnx``, ``.xml``, ``.pt2``) rather than weights."""
    return isinstance(path, str | os.PathLike) and Path(path).suffix.lower() in FILE_RUNTIMES


def check_runtime(runtime) -> None:
    if runtime is not None and runtime not in RUNTIMES:
        raise SenetError(f"runtime={runtime!r} is not one of {', '.join(RUNTIMES)}")


def installed(names) -> list[str]:
    """The runtimes of ``names`` whose package is installed (torch always is)."""
    import importlib.util

    return [n for n in names if n not in KNOWN or importlib.util.find_spec(KNOWN[n]) is not None]


class DeployedNet(nn.Module):
    """A model run by another runtime (``runtime``): images (N, C, H, W) on the CPU -> logits."""

    def __init__(self, run, runtime: str, card: dict | None, size: int | None, source: str, cfg=None):
        super().__init__()
        self._run, self.runtime, self.card, self.source = run, runtime, dict(card or {}), source
        self.input_side = size
        self.model_name = self.card.get("model") or Path(source).stem
        if cfg is None:
            pre = self.card.get("preprocess") or {}
            cfg = {k: tuple(v) if isinstance(v, list) else v for k, v in pre.items()}
        self.default_cfg = dict(cfg)
        if size is not None:
            self.default_cfg.setdefault("input_size", (3, size, size))
        self.num_classes = self.card.get("num_classes")
        self.auto = False  # chosen by --runtime auto
        self.measured: dict | None = None  # then: ms per runtime (None: the cache answered)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu":
            raise SenetError(
                f"{self.source} runs in {self.runtime} on the CPU; drop --device {x.device.type}"
            )
        side = self.input_side
        if side is not None and tuple(x.shape[-2:]) != (side, side):
            raise SenetError(
                f"{self.source} was exported for {side}x{side} images, got {x.shape[-2]}x{x.shape[-1]}: "
                f"evaluate it at --crop {side} (or export it again at this size)"
            )
        return self._run(x)

    def extra_repr(self) -> str:
        return f"{self.model_name}, runtime={self.runtime}, source={self.source!r}"


def _file_runners(path: Path, threads: int | None):
    """(card, input side, {runtime: builder}) of a deployed file."""
    from . import onnx as O
    from . import openvino as V
    from . import pt2 as P

    suffix = path.suffix.lower()
    if suffix == ".onnx":
        program = path.read_bytes()
        try:
            card, side = O.read_card(program, repr(str(path))), O.input_size(program)
        except SenetError:
            raise
        except Exception as e:  # onnx's DecodeError and friends
            raise SenetError(f"{str(path)!r} is not an ONNX model ({type(e).__name__})") from None
        return (
            card,
            side,
            {
                "ort": lambda: O.ort_runner(program, threads),
                "openvino": lambda: V.runner(V.read(path)[0], threads),
            },
        )
    if suffix == ".xml":
        model, card = V.read(path)
        return card, V.input_size(model), {"openvino": lambda: V.runner(model, threads)}
    program, side, card = P.load(path)
    return card, side, {"torch": lambda: P.runner(program)}


def load_deployed(
    path, runtime: str | None = None, threads: int | None = None, batch: int = 1
) -> DeployedNet:
    """A deployed file as a module. ``runtime``: None (the file's own: ``.onnx`` ONNX Runtime, ``.xml``
    OpenVINO, ``.pt2`` torch/Inductor), one that reads the file, or ``"auto"`` (the fastest of those
    installed, measured at ``batch`` images and cached: :mod:`senet.runtimes.auto`)."""
    check_runtime(runtime)
    path = Path(path)
    if not path.is_file():
        raise SenetError(f"{str(path)!r} does not exist")
    readers = FILE_RUNTIMES[path.suffix.lower()]
    if runtime not in (None, "auto") and runtime not in readers:
        raise SenetError(
            f"{str(path)!r} runs in {' or '.join(readers)}, not {runtime}: drop --runtime, or give a checkpoint "
            f"(weights) to run it in {runtime}"
        )
    card, side, builders = _file_runners(path, threads)
    if runtime == "auto":
        usable = {n: b for n, b in builders.items() if n in installed([n])}
        if not usable:
            from .packages import need

            need(KNOWN[readers[0]])
        name, run, times = _choose(usable, side, batch, str(path), threads)
        net = DeployedNet(run, name, card, side, str(path))
        net.auto, net.measured = True, times
        return net
    name = runtime or readers[0]
    return DeployedNet(builders[name](), name, card, side, str(path))


def to_runtime(
    net: nn.Module, runtime: str, size: int, threads: int | None = None, batch: int = 1, source=None
) -> nn.Module:
    """``net`` (a torch model in eval mode) run by ``runtime``: "torch" (itself), "ort" (exported to ONNX at
    ``size`` x ``size``), "openvino" (converted), or "auto" (the fastest of the installed ones, measured at
    ``batch`` images; cached when ``source``, the weights file, is given)."""
    check_runtime(runtime)
    if runtime in (None, "torch"):
        return net
    builders = {
        "torch": lambda: net,
        "ort": lambda: _ort(net, size, threads),
        "openvino": lambda: _ov(net, size, threads),
    }
    if runtime == "auto":
        name, run, times = _choose(
            {n: builders[n] for n in installed(builders)}, size, batch, source, threads
        )
    else:
        name, run, times = runtime, builders[runtime](), None
    if name == "torch":
        net.runtime, net.auto, net.measured = "torch", True, times
        return net
    out = DeployedNet(run, name, _card(net), size, str(source or getattr(net, "model_name", "model")),
                      cfg=getattr(net, "default_cfg", None))  # fmt: skip
    out.model_name = getattr(net, "model_name", out.model_name)
    out.num_classes = getattr(net, "num_classes", None)
    out.auto, out.measured = runtime == "auto", times
    return out


def _card(net: nn.Module) -> dict:
    from ..hub.weights import model_card

    return model_card(net)


def _ort(net: nn.Module, size: int, threads):
    from . import onnx as O
    from .packages import need

    need("onnxruntime"), need("onnx"), need("onnxscript")
    return O.ort_runner(O.to_onnx(net, size), threads)


def _ov(net: nn.Module, size: int, threads):
    from . import openvino as V

    return V.runner(V.convert(net, size, getattr(net, "in_chans", 3)), threads)


def _choose(builders, side, batch, source, threads):
    from .auto import choose

    side = side or 224
    x = torch.randn(batch, 3, side, side, generator=torch.Generator().manual_seed(0))
    return choose(builders, x, source, threads or torch.get_num_threads())


def describe(net: nn.Module) -> str | None:
    """One line saying which runtime ``--runtime auto`` took and why (None for another choice)."""
    if not getattr(net, "auto", False):
        return None
    times, runtime = net.measured, net.runtime
    if times is None:
        return f"runtime: {runtime} (auto: the fastest measured before on this machine, cached)"
    how = ", ".join(f"{n} {ms:.1f} ms" for n, ms in sorted(times.items(), key=lambda kv: kv[1]))
    return f"runtime: {runtime} (auto, measured now: {how} per batch)"


def note(net: nn.Module) -> None:
    line = describe(net)
    if line:
        print(line, file=sys.stderr)
