"""Which registered models are too big to build for real in the default run (counted on the meta device)."""

import functools
from unittest import mock

import torch

from senet import create_model, list_models

HUGE_PARAMS = 300_000_000  # ResNeXt-101 32x48d and its SE twin (828M, 833M): 3.3 GB of float32 each


@functools.cache
def params(name: str) -> int:
    """The parameter count of a registered model, built on the meta device (once per process: pytest-xdist
    workers collect on their own). Meta tensors hold no values, so ``Tensor.normal_`` is skipped there: on
    the meta device it runs torch's Python reference of ``normal`` (2/3 of the build time), and no count
    depends on what it would draw."""
    with torch.device("meta"), mock.patch.object(torch.Tensor, "normal_", lambda t, *a, **k: t):
        return sum(p.numel() for p in create_model(name).parameters())


@functools.cache
def huge_models() -> frozenset[str]:
    return frozenset(name for name in list_models() if params(name) > HUGE_PARAMS)


# timm's SE-ResNet-D rows (beyond the paper) over this size are built for real only in the slow run: 60-150M
# parameters each, 10-60 s apiece on two cores; the default run builds the small ones and checks the others
# on the meta device (tests/test_timm_family.py).
BIG_BEYOND_PAPER = 30_000_000


@functools.cache
def slow_models() -> frozenset[str]:
    """The huge models, and the big rows of timm's SE-ResNet-D family."""
    from senet.models.resnet import TIMM_SE_NAMES

    big = {name for name in [*TIMM_SE_NAMES, *TIMM_SE_NAMES.values()] if params(name) > BIG_BEYOND_PAPER}
    return frozenset(huge_models() | big)


def every_model():
    """pytest params for every model, the slow ones marked ``slow`` (the huge ones take gigabytes)."""
    import pytest

    return [pytest.param(n, marks=pytest.mark.slow) if n in slow_models() else n for n in list_models()]
