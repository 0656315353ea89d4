"""Which registered models are too big to build for real in the default run (counted on the meta device)."""

import functools

import torch

from senet import create_model, list_models

HUGE_PARAMS = 300_000_000  # ResNeXt-101 32x48d and its SE twin (828M, 833M): 3.3 GB of float32 each


@functools.cache
def huge_models() -> frozenset[str]:
    out = set()
    for name in list_models():
        with torch.device("meta"):
            n = sum(p.numel() for p in create_model(name).parameters())
        if n > HUGE_PARAMS:
            out.add(name)
    return frozenset(out)


# timm's SE-ResNet-D rows (beyond the paper) over this size are built for real only in the slow run: 60-150M
# parameters each, 10-60 s apiece on two cores; the default run builds the small ones and checks the others
# on the meta device (tests/test_timm_family.py).
BIG_BEYOND_PAPER = 30_000_000


@functools.cache
def slow_models() -> frozenset[str]:
    """The huge models, and the big rows of timm's SE-ResNet-D family."""
    from senet.models.resnet import TIMM_SE_NAMES

    out = set(huge_models())
    for name in [*TIMM_SE_NAMES, *TIMM_SE_NAMES.values()]:
        with torch.device("meta"):
            n = sum(p.numel() for p in create_model(name).parameters())
        if n > BIG_BEYOND_PAPER:
            out.add(name)
    return frozenset(out)


def every_model():
    """pytest params for every model, the slow ones marked ``slow`` (the huge ones take gigabytes)."""
    import pytest

    return [pytest.param(n, marks=pytest.mark.slow) if n in slow_models() else n for n in list_models()]
