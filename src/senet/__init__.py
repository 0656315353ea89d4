"""senet: Squeeze-and-Excitation Networks (Hu, Shen, Albanie, Sun, Wu; CVPR 2018, TPAMI 2019) in PyTorch.

The public face. Heavy parts (training, export, benchmarks) are imported on first use.
"""

from importlib import import_module

from .complexity import complexity  # eager: these functions share their module's name and must shadow it
from .errors import CheckpointError, DataError, SenetError
from .export import export
from .layers import SqueezeExcitation
from .registry import create_model, list_models, model_info

__version__ = "0.1.0"

# name -> module that defines it; imported lazily so `import senet` stays light.
_LAZY = {
    "load_weights": "senet.weights",
    "save_weights": "senet.weights",
    "load_state_dict_file": "senet.weights",
    "add_se": "senet.retrofit",
    "train": "senet.engine",
    "evaluate": "senet.evaluation",
    "get_recipe": "senet.recipes",
    "list_recipes": "senet.recipes",
    "optimize_for_inference": "senet.fast",
    "bench": "senet.analysis.bench",
    "ablate": "senet.analysis.ablate",
    "excitations": "senet.analysis.excitations",
    "report": "senet.analysis.report",
}

__all__ = [
    "CheckpointError",
    "DataError",
    "SenetError",
    "SqueezeExcitation",
    "complexity",
    "export",
    "create_model",
    "list_models",
    "model_info",
    *_LAZY,
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'senet' has no attribute {name!r}")
