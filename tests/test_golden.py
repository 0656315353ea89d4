"""Every registered model pinned: parameters, multiply-adds and its state_dict keys and shapes.

State-dict keys are a public API (the weights people hold), so a refactor must keep every one. Models are
built on the meta device (no memory, no init time). Regenerate after a deliberate change with
``SENET_REGEN_GOLDEN=1 pytest tests/test_golden.py`` and say why in the commit.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest
import torch

from senet import complexity, create_model, list_models

GOLDEN = Path(__file__).parent / "golden" / "models.json"


def fingerprint(name: str) -> dict:
    with torch.device("meta"):
        model = create_model(name)
    keys = sorted(f"{k}:{tuple(v.shape)}" for k, v in model.state_dict().items())  # names matter, not order
    c = complexity(model)
    return {
        "params": c.params,
        "macs": c.macs,
        "state_dict_keys": len(keys),
        "state_dict_sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest(),
    }


@pytest.fixture(scope="module")
def golden() -> dict:
    if os.environ.get("SENET_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps({n: fingerprint(n) for n in list_models()}, indent=1) + "\n")
    return json.loads(GOLDEN.read_text())


def test_golden_file_lists_every_model(golden):
    assert sorted(golden) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_model_matches_its_golden_fingerprint(name, golden):
    assert fingerprint(name) == golden[name]
