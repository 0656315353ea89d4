"""Model families; importing this package registers every model."""

from . import cifar, inception, inception_resnet, mobilenet, resnet, shake, shufflenet, vgg  # noqa: F401
