"""Model families; importing this package registers every model."""

from . import (  # noqa: F401
    cifar,
    inception,
    inception_resnet,
    mobilenet,
    resnet,  # noqa: F401
    shake,
    shufflenet,
    vgg,
)
