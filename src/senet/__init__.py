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
    "SEConfig": "senet.layers.se",
    "SqueezeExcitation": "senet.layers.se",
    "create_model": "senet.models.factory",
    "list_models": "senet.models.factory",
    "model_info": "senet.models.factory",
    "model_options": "senet.models.factory",
    "complexity": "senet.models.counting",
    "export": "senet.deploy.export",
    "quantize": "senet.deploy.quantize",
    "load_quantized": "senet.deploy.quantize",
    "load_weights": "senet.hub.weights",
    "save_weights": "senet.hub.weights",
    "load_state_dict_file": "senet.hub.weights",
    "add_se": "senet.retrofit.insert",
    "se_points": "senet.retrofit.points",
    "format_se_points": "senet.retrofit.points",
    "backbone": "senet.models.backbones",
    "train": "senet.engine",
    "TrainConfig": "senet.engine",
    "evaluate": "senet.evaluation.evaluator",
    "predict": "senet.evaluation.inference",
    "transforms": "senet.evaluation.preprocess",
    "list_pretrained": "senet.hub.pretrained",
    "get_recipe": "senet.engine.recipes",
    "list_recipes": "senet.engine.recipes",
    "optimize_for_inference": "senet.fast",
    "bench": "senet.deploy.benchmark",
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
