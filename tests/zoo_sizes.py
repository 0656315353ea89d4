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


def every_model():
    """pytest params for every model, the huge ones marked ``slow`` (built for real they take gigabytes)."""
    import pytest

    return [pytest.param(n, marks=pytest.mark.slow) if n in huge_models() else n for n in list_models()]
