"""``senet.add_se``: SE for an existing torchvision / timm / senet residual network (issue 3; any CNN:
test_add_se_any.py)."""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torchvision
from torch import nn

import senet
from senet import SenetError, add_se
from senet.models.counting import count_params


def _added(model, **options):
    before = count_params(model)
    add_se(model, **options)
    return count_params(model) - before


def test_torchvision_resnet50_adds_the_papers_parameters():
    """28,088,024 - 25,557,032 = 2,530,992 (PAPER.md section 4), r=16 with biases."""
    assert _added(torchvision.models.resnet50()) == 2_530_992


@pytest.mark.parametrize(
    "builder, added",
    [
        (torchvision.models.resnext50_32x4d, 2_530_992),
        (torchvision.models.wide_resnet50_2, 2_530_992),
        # BasicBlock: sum over stages of N_s (2 C^2 / 16 + C / 16 + C), C = 64..512, N = 2 each.
        (torchvision.models.resnet18, 2 * sum(2 * c * c // 16 + c // 16 + c for c in (64, 128, 256, 512))),
    ],
)
def test_torchvision_families(builder, added):
    assert _added(builder()) == added


def test_formula_without_bias_and_other_reduction():
    """(2/r) sum_s N_s C_s^2 (PAPER.md section 1), no biases, r=8."""
    expected = sum(n * 2 * c * c // 8 for n, c in zip((3, 4, 6, 3), (256, 512, 1024, 2048)))
    assert _added(torchvision.models.resnet50(), reduction=8, bias=False) == expected


def test_stages_option():
    assert _added(torchvision.models.resnet50(), stages=(5,), bias=False) == 3 * 2 * 2048**2 // 16


def test_timm_resnet50():
    timm = pytest.importorskip("timm")
    model = timm.create_model("resnet50")
    assert _added(model) == 2_530_992
    assert isinstance(model.layer1[0].se, senet.SqueezeExcitation)


def test_senet_plain_resnet():
    model = senet.create_model("resnet50")
    assert _added(model) == 2_530_992
    assert count_params(model) == 28_088_024


def test_retrofitted_resnet18_trains():
    torch.manual_seed(0)
    model = add_se(torchvision.models.resnet18(num_classes=5)).train()
    x, y = torch.randn(2, 3, 32, 32), torch.tensor([0, 3])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert model.layer4[1].se.fc2.weight.grad.abs().sum() > 0
    opt.step()


def test_se_changes_the_function_in_the_standard_position():
    """The SE output really is used: a closed gate (fc2 bias -inf -> s = 0) leaves only the shortcut."""
    torch.manual_seed(0)
    model = add_se(torchvision.models.resnet18()).eval()
    block = model.layer1[0]
    x = torch.randn(1, 64, 8, 8)
    with torch.no_grad():
        block.se.fc2.bias.fill_(-1e4)
        assert torch.allclose(block(x), torch.relu(x))


def test_torchvision_layout_matches_se_resnet50():
    """Same state_dict keys and the same function as ``se_resnet50(layout="torchvision")``."""
    tv = add_se(torchvision.models.resnet50()).eval()
    ours = senet.create_model("se_resnet50", layout="torchvision").eval()
    assert set(tv.state_dict()) == set(ours.state_dict())
    ours.load_state_dict(tv.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(tv(x), ours(x), rtol=1e-4, atol=1e-5)


def test_retrofitted_model_pickles_and_copies():
    model = add_se(torchvision.models.resnet18())
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    assert type(loaded.layer1[0]).__name__ == "SEBasicBlock"
    assert copy.deepcopy(model).layer1[0].se is not None


@pytest.mark.parametrize(
    "model, match",
    [
        (nn.Sequential(nn.Flatten(), nn.Linear(3, 4)), "cannot handle Sequential"),  # VGG: test_add_se_any
        (nn.Linear(3, 4), "cannot handle Linear"),
        ("resnet50", "needs a torch.nn.Module"),
    ],
)
def test_unsupported_models(model, match):
    with pytest.raises(SenetError, match=match):
        add_se(model)


def test_already_has_se():
    model = add_se(torchvision.models.resnet18())
    with pytest.raises(SenetError, match="already has SE"):
        add_se(model)
    with pytest.raises(SenetError, match="already has SE"):
        add_se(senet.create_model("se_resnet18"))


@pytest.mark.parametrize(
    "options, match",
    [
        ({"reduction": 0}, "reduction"),
        ({"reduction": 3}, "reduction=3"),
        ({"placement": "pre"}, "does not take"),
        ({"squeeze": "median"}, "squeeze"),
        ({"stages": (1,)}, "stages"),
    ],
)
def test_bad_options_leave_the_model_unchanged(options, match):
    model = torchvision.models.resnet18()
    before = count_params(model)
    with pytest.raises(SenetError, match=match):
        add_se(model, **options)
    assert count_params(model) == before and type(model.layer1[0]).__name__ == "BasicBlock"


def test_add_se_follows_the_models_dtype():
    import torchvision

    model = senet.add_se(torchvision.models.resnet18().to(torch.float64)).eval()
    assert model(torch.randn(1, 3, 32, 32, dtype=torch.float64)).dtype == torch.float64
