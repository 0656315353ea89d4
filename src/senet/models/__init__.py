"""The networks: every family's table and builder, and the registry they register into.

Importing anything of this package runs this file first, which imports every family module; each family
registers its rows into :mod:`senet.models.registry` (which imports no family). :mod:`senet.models.factory`
(``create_model``, ``list_models``, ``model_info``) builds models out of the registry; ``counting`` and
``paper`` count them as the paper does; ``backbones`` and ``features`` give their feature maps.
"""

from . import cifar, inception, inception_resnet, mobilenet, resnet, shake, shufflenet, vgg  # noqa: F401
