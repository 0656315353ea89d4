"""``torchvision:NAME``: torchvision's classifiers as registry entries, built with random weights.

``create_model("torchvision:vgg16_bn", num_classes=10, add_se=True)`` builds torchvision's network (never
downloading) and inserts SE blocks with :func:`senet.add_se` (PAPER.md section 2), so every verb that takes
``--model`` (train, eval, predict, export) and a run's resume build the same network. GoogLeNet and
Inception-v3 are built without their auxiliary heads (a training step gets one output, not a tuple).
"""

from __future__ import annotations

import difflib
import functools

from torch import nn

from ..errors import SenetError

# Options senet passes for these models: no auxiliary training heads, torchvision's own init (silences
# the warning about a future default).
_EXTRA = {
    "googlenet": {"aux_logits": False, "init_weights": True},
    "inception_v3": {"aux_logits": False, "init_weights": True},
}
_SIZE = {"inception_v3": 299}


@functools.cache
def names() -> tuple[str, ...]:
    """torchvision's classification models (``torchvision.models.list_models``)."""
    import torchvision

    return tuple(torchvision.models.list_models(module=torchvision.models))


def _build(name: str, num_classes: int, se, **_options) -> nn.Module:
    import torchvision

    model = torchvision.models.get_model(name, weights=None, num_classes=num_classes, **_EXTRA.get(name, {}))
    model.num_classes = num_classes
    return model


@functools.cache
def entry(ref: str):
    """The registry entry of ``torchvision:NAME``; an unknown NAME fails with the closest ones."""
    from .registry import TORCHVISION, Family, ModelInfo, _Entry

    name = ref[len(TORCHVISION) :]
    if name not in names():
        close = difflib.get_close_matches(name, names(), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(TORCHVISION + c for c in close)}?" if close else ""
        raise SenetError(f"unknown torchvision model {name!r}{hint} (torchvision.models.list_models())")
    size = _SIZE.get(name, 224)
    family = Family("torchvision", _build, ("standard", "post"), options={})
    info = ModelInfo(ref, "torchvision", input_size=(3, size, size), min_input_size=75 if size == 299 else 32)
    return _Entry(family, name, info)
