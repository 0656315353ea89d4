"""The training engine: config (resolved, frozen), loop, state (what a checkpoint holds), checkpoint,
run directory and recipes (torchrun lives in ``senet.core.distributed``). ``senet.train`` is :func:`train`.

Names are imported on first use, so that ``import senet.engine.rundir`` (for its file names) does not load
the loop, the models and torch.distributed.
"""

from importlib import import_module

_NAMES = {"train": ".loop", "NonFiniteLoss": ".loop", "TrainConfig": ".config"}
__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        value = getattr(import_module(_NAMES[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'senet.engine' has no attribute {name!r}")
