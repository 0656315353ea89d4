"""torch.hub entry points: every senet model, with ``pretrained=`` (True for the default tag, or a tag).

    model = torch.hub.load("<owner>/senet", "se_resnet50", pretrained=True)            # from GitHub
    model = torch.hub.load("/path/to/senet", "se_resnet50", source="local")           # a clone
    model = torch.hub.load(..., "se_resnet50", pretrained="timm_a1_in1k", num_classes=10)  # fine-tuning

``senet list --pretrained`` shows the tags; other keywords go to ``senet.create_model``.
"""

import os as _os
import sys as _sys

dependencies = ["torch", "torchvision", "safetensors", "huggingface_hub"]

_src = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "src")
if _src not in _sys.path:  # a clone that is not installed
    _sys.path.insert(0, _src)

import senet as _senet  # noqa: E402


def _entry(name):
    def build(pretrained=False, **kwargs):
        return _senet.create_model(name, pretrained=pretrained or None, **kwargs)

    build.__name__ = build.__qualname__ = name
    info = _senet.model_info(name)
    build.__doc__ = f"senet's {name} ({'SE' if info.se else 'plain'} twin: {info.twin}); pretrained=True|TAG."
    return build


for _name in _senet.list_models():
    globals()[_name] = _entry(_name)
