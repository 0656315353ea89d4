"""The training engine: config (resolved, frozen), loop, state (what a checkpoint holds), checkpoint,
run directory and distributed (torchrun). ``senet.train`` is :func:`train`."""

from .config import TrainConfig
from .loop import NonFiniteLoss, train

__all__ = ["NonFiniteLoss", "TrainConfig", "train"]
