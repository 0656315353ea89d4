"""Model families; importing this package registers every model."""

from . import resnet  # noqa: F401
