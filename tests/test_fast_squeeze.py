"""Squeeze before the last conv (senet.fast.squeeze): the same function, rewritten where it applies only."""

import io

import pytest
import torch
import torchvision
from torch import nn

import senet
from bn_stats import randomize_bn
from senet.errors import SenetError
from senet.fast import optimize_for_inference, squeeze_before_last_conv
from senet.fast.squeeze import EarlySqueezeExcitation
from senet.layers import SEConfig, SqueezeExcitation
from senet.models.inception_resnet import block_a
from senet.models.resnet import ResNet, ResNetSpec


def _close(a, b, rtol):
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * max(1.0, b.abs().max().item()))


def _parity(model, x, expected_units):
    """float64: the rewrite is exact algebra, so only round-off (~1e-15 of the logits) may differ."""
    model = randomize_bn(model).eval().double()
    fast, n = squeeze_before_last_conv(model)
    assert n == expected_units
    assert fast is not model
    assert not any(isinstance(m, EarlySqueezeExcitation) for m in model.modules()), "original untouched"
    assert sum(isinstance(m, EarlySqueezeExcitation) for m in fast.modules()) == n
    assert not fast.training
    x = x.double()
    with torch.no_grad():
        _close(fast(x), model(x), rtol=1e-10)
    return fast


# (name, options, SE units): the paper's models in both layouts, ResNeXt, timm's ResNet-D (deep stem,
# avg-pool shortcut) and ResNet-T rows.
_MODELS = [
    ("se_resnet50", {}, 16),
    ("se_resnet50", {"layout": "torchvision"}, 16),
    ("se_resnext50_32x4d", {}, 16),
    ("seresnext26d_32x4d", {}, 8),
    ("seresnet50t", {}, 16),
]


@pytest.mark.parametrize(("name", "options", "units"), _MODELS)
def test_registered_models_same_outputs(name, options, units):
    model = senet.create_model(name, num_classes=10, **options)
    fast = _parity(model, torch.randn(1, 3, 64, 64), units)
    unit = fast.layer1[0]
    assert isinstance(unit, torch.fx.GraphModule) and isinstance(unit.se, EarlySqueezeExcitation)
    assert unit.se.fc1.in_channels == unit.conv3.in_channels  # the squeeze reads conv3's input
    # the same keys (the official SE blocks have biases); fc1 takes conv3's input width
    assert sorted(fast.state_dict()) == sorted(model.state_dict())


def _meta(name, **options):
    with torch.device("meta"):
        return senet.create_model(name, **options)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("resnet50", {}),  # no SE
        *[("se_resnet50", {"placement": p}) for p in ("pre", "post", "identity", "3x3")],
        ("seresnext26ts", {}),  # byobnet's attn: SE before conv3 ("3x3")
        ("se_resnet18", {}),  # basic units: conv2 is 3x3
        ("se_resnet50", {"squeeze": "max"}),  # the max of an affine map is not the map of the max
        ("se_resnet50", {"squeeze": "none"}),
    ],
)
def test_units_it_cannot_rewrite_are_left_unchanged(name, options):
    model = _meta(name, **options)
    fast, n = squeeze_before_last_conv(model)
    assert n == 0
    assert not any(isinstance(m, torch.fx.GraphModule | EarlySqueezeExcitation) for m in fast.modules())


def test_meta_count_and_inplace():
    model = _meta("se_resnet50", drop_path_rate=0.1)  # stochastic depth: a no-op in eval mode
    fast, n = squeeze_before_last_conv(model, inplace=True)
    assert fast is model and n == 16 and not model.training
    assert squeeze_before_last_conv(model, inplace=True)[1] == 0  # nothing left to rewrite


def _tiny(**se_options):
    spec = ResNetSpec("bottleneck", (1, 2), (64, 128), (32, 64), groups=8, stride_on="3x3")
    return ResNet(spec, num_classes=10, se=SEConfig(reduction=4, **se_options))


@pytest.mark.parametrize(
    "options", [{"bias": False, "excitation": "tanh"}, {"excitation": "relu"}, {"stages": (3,)}]
)
def test_the_blocks_own_options(options):
    model = _tiny(**options)
    fast = _parity(model, torch.randn(2, 3, 32, 32), 2 if options.get("stages") else 3)
    if options.get("bias") is False:  # the folded fc1 always has a bias (W1 b3'), the key is new
        extra = set(fast.state_dict()) - set(model.state_dict())
        assert extra == {"layer1.0.se.fc1.bias", "layer2.0.se.fc1.bias", "layer2.1.se.fc1.bias"}


def test_other_hosts_of_the_same_pattern():
    """A torchvision ResNet given SE by ``add_se`` (se(bn3(conv3(y)))) and an Inception-ResNet block
    (se(up(y)), a 1x1 conv with a bias and no BN) are the same algebra."""
    tv = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10)
    _parity(senet.add_se(tv), torch.randn(1, 3, 64, 64), 4)
    holder = nn.Sequential(block_a(0.17, SEConfig()))
    _parity(holder, torch.randn(2, 320, 5, 5), 1)


def test_inference_only_and_composes_with_the_other_fast_paths():
    model = randomize_bn(_tiny()).eval()
    fast, _ = squeeze_before_last_conv(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)
        # BN folding still applies (conv3 -> bn3 too); float32 round-off
        _close(optimize_for_inference(fast)(x), expected, rtol=1e-5)
        _, n = squeeze_before_last_conv(optimize_for_inference(model))
        assert n == 0  # fused units end in one step: nothing to match (apply this rewrite first)
    fast.train()
    with pytest.raises(SenetError, match="inference only"):
        fast(x)
    assert isinstance(fast.layer1[0].se, SqueezeExcitation)  # still listed as an SE block
    assert len(fast.se_blocks()) == 3


def test_torch_export_traces_the_rewritten_model():
    model = randomize_bn(_tiny()).eval()
    fast, _ = squeeze_before_last_conv(model)
    x = torch.randn(2, 3, 32, 32)
    program = torch.export.export(fast, (x,))
    with torch.no_grad():
        _close(program.module()(x), model(x), rtol=1e-5)


def test_whole_model_pickles():
    """torch.save of the model object: unpickling re-traces each rewritten unit (a GraphModule) with a
    tracer of the class that built it, constructed without arguments."""
    model = randomize_bn(_tiny()).eval()
    x = torch.randn(2, 3, 32, 32)
    buffer = io.BytesIO()
    torch.save(squeeze_before_last_conv(model)[0], buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert isinstance(loaded.layer1[0].se, EarlySqueezeExcitation)
    with torch.no_grad():
        _close(loaded(x), model(x), rtol=1e-5)
