"""senet: Squeeze-and-Excitation Networks (Hu, Shen, Albanie, Sun, Wu; CVPR 2018, TPAMI 2019) in PyTorch.

The public face. Everything but the errors is imported on first use: ``import senet`` does not import
torch, so the command line answers Ctrl-C during start-up like at any other time.
"""

from importlib import import_module

from .errors import CheckpointError, DataError, SenetError, SenetTypeError

__version__ = "0.1.0"

# name -> module that defines it; imported lazily so `import senet` stays light. No module of the package
# bears the name of one of these functions (senet.export is the function; the module is senet.deploy.export).
_LAZY = {
    "SEConfig": "senet.layers",
    "SqueezeExcitation": "senet.layers",
    "create_model": "senet.registry",
    "list_models": "senet.registry",
    "model_info": "senet.registry",
    "model_options": "senet.registry",
    "complexity": "senet.counting",
    "export": "senet.deploy.export",
    "quantize": "senet.deploy.quantize",
    "load_quantized": "senet.deploy.quantize",
    "load_weights": "senet.weights",
    "save_weights": "senet.weights",
    "load_state_dict_file": "senet.weights",
    "add_se": "senet.retrofit",
    "se_points": "senet.retrofit",
    "format_se_points": "senet.retrofit",
    "backbone": "senet.backbones",
    "train": "senet.engine",
    "TrainConfig": "senet.engine",
    "evaluate": "senet.evaluation",
    "predict": "senet.inference",
    "transforms": "senet.preprocess",
    "list_pretrained": "senet.pretrained",
    "get_recipe": "senet.recipes",
    "list_recipes": "senet.recipes",
    "optimize_for_inference": "senet.fast",
    "bench": "senet.benchmark",
    "ablate": "senet.analysis.ablate",
    "excitations": "senet.analysis.excitations",
    "report": "senet.analysis.report",
}

__all__ = ["CheckpointError", "DataError", "SenetError", "SenetTypeError", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip __getattr__
        return value
    raise AttributeError(f"module 'senet' has no attribute {name!r}")
