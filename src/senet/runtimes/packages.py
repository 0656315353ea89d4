"""Optional packages, imported on use: a missing one is one line that names the extra to install."""

from __future__ import annotations

import importlib

from ..errors import SenetError

# module -> (what needs it, the extra that installs it)
EXTRAS = {
    "onnx": ("ONNX export", "senet[onnx]"),
    "onnxscript": ("ONNX export", "senet[onnx]"),
    "onnxruntime": ("ONNX Runtime", "senet[onnx]"),
    "openvino": ("OpenVINO", "senet[openvino]"),
    "nncf": ("OpenVINO int8 (NNCF)", "senet[openvino]"),
    "torchao": ("PT2E int8", "senet[int8]"),
}


def need(module: str):
    """``importlib.import_module(module)``, or a SenetError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        what, extra = EXTRAS.get(top, (top, top))
        raise SenetError(f"{what} needs the {top} package: pip install '{extra}'") from None
