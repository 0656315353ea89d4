"""Every registered model builds, runs forward and backward, and every parameter gets a gradient."""

import pytest
import torch

import senet
from senet import SenetError, create_model, list_models, model_info
from zoo_sizes import every_model


@pytest.mark.parametrize("name", every_model())
def test_forward_backward_every_parameter_gets_a_gradient(name):
    info = model_info(name)
    model = create_model(name, num_classes=7).train()
    size = info.min_input_size
    x = torch.randn(2, info.input_size[0], size, size)
    out = model(x)
    assert out.shape == (2, 7)
    out.square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f"parameters without a (finite) gradient: {missing[:5]}"
    if info.se:
        assert any(isinstance(m, senet.SqueezeExcitation) for m in model.modules())
        assert any(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if ".se." in n or "se_" in n)
    _check_structure(model.eval(), x)
    _check_features(model, info)


def _check_features(model, info):
    """features_only maps have the channels and strides feature_info documents, and forward_intermediates
    gives the same maps (issue: SE networks as backbones)."""
    from senet.models.features import FeatureNet

    size = max(info.min_input_size, 64 if info.input_size[-1] > 64 else 32)
    x = torch.randn(1, info.input_size[0], size, size)
    feats = FeatureNet(model)  # shares the model's modules
    with torch.no_grad():
        maps = feats(x)
        final, inter = model.forward_intermediates(x)
        whole = model.forward_features(x)
    fi = model.feature_info
    assert [m.shape[1] for m in maps] == fi.channels() and len(maps) >= 3
    for m, r in zip(maps, fi.reduction()):  # the stride, as the map's size (valid convs lose a few pixels)
        assert 0.75 * size / r - 2 <= m.shape[-1] <= -(-size // r), (r, m.shape, size)
    assert all(torch.equal(a, b) for a, b in zip(maps, inter)) and torch.equal(final, whole)
    assert fi.reduction() == sorted(fi.reduction()) and fi.reduction()[-1] == max(fi.reduction())


def _check_structure(model, x):
    """stem -> stages -> head, registered in the order they run, so torchvision's feature helpers and
    torch.fx see the network as it is (issue: one way to declare a model)."""
    from torchvision.models._utils import IntermediateLayerGetter

    children = [n for n, _ in model.named_children()]
    features = [n for n, _ in model.named_children() if n not in ("global_pool", "pre_logits", "drop", "fc")]
    assert children[-1] == "fc" and children[: len(features)] == features  # the head comes last
    calls, outputs = [], {}

    def record(name):
        def hook(module, inputs, output):
            calls.append(name)
            outputs.setdefault(name, output)

        return hook

    hooks = [getattr(model, n).register_forward_hook(record(n)) for n in children]
    with torch.no_grad():
        logits = model(x)
    for h in hooks:
        h.remove()
    assert list(dict.fromkeys(calls)) == children  # each child first runs in registration order
    # Every child of the stem and the stages, one after the other, is the network up to there.
    getter = IntermediateLayerGetter(model, {n: n for n in features})
    with torch.no_grad():
        got = getter(x)
    for n in features:
        torch.testing.assert_close(got[n], outputs[n], msg=n)
    last = model.stages()[-1][1]
    if isinstance(last, torch.nn.Module):  # the last stage's own map (all but BN-Inception's grids)
        name = next(n for n, m in model.named_children() if m is last)
        torch.testing.assert_close(IntermediateLayerGetter(model, {name: "out"})(x)["out"], outputs[name])
    traced = torch.fx.symbolic_trace(model)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), logits)


def test_registry_has_every_resnet_family_model():
    expected = {
        "resnet18",
        "resnet34",
        "resnet50",
        "resnet101",
        "resnet152",
        "se_resnet18",
        "se_resnet34",
        "se_resnet50",
        "se_resnet101",
        "se_resnet152",
        "resnext50_32x4d",
        "resnext101_32x4d",
        "se_resnext50_32x4d",
        "se_resnext101_32x4d",
        "resnext26_32x4d",  # timm's legacy SE-ResNeXt-26 and its twin
        "se_resnext26_32x4d",
        "resnext101_32x48d",  # Table 9's comparison row (Mahajan et al.), and our SE twin
        "se_resnext101_32x48d",
        "senet154",
        *(f"{p}resnet{d}_cifar" for p in ("", "se_") for d in (20, 32, 44, 56, 110)),
    }
    assert expected <= set(list_models())
    assert list_models("se_resnext*") == [
        "se_resnext101_32x48d",
        "se_resnext101_32x4d",
        "se_resnext26_32x4d",
        "se_resnext50_32x4d",
    ]


def test_every_se_model_has_a_plain_twin():
    for name in list_models():
        info = model_info(name)
        assert info.twin in list_models(), name
        assert model_info(info.twin).twin == name
        assert model_info(info.twin).se != info.se


@pytest.mark.parametrize("size", [224, 320, 97])
def test_any_input_size_runs(size):
    with torch.device("meta"):
        model = create_model("se_resnet50")
        assert model(torch.empty(1, 3, size, size)).shape == (1, 1000)


def test_official_layout_structure():
    with torch.device("meta"):
        m = create_model("se_resnet50")
        x = create_model("se_resnext50_32x4d")
        t = create_model("se_resnet50", layout="torchvision")
        s = create_model("senet154")
    assert m.layer2[0].conv1.stride == (2, 2) and m.layer2[0].conv2.stride == (1, 1)
    assert x.layer2[0].conv1.stride == (1, 1) and x.layer2[0].conv2.stride == (2, 2)
    assert t.layer2[0].conv1.stride == (1, 1) and t.layer2[0].conv2.stride == (2, 2)
    assert m.maxpool.ceil_mode and m.maxpool.padding == 0 and t.maxpool.padding == 1
    se_convs = {id(c) for blk in m.se_blocks() for c in blk.module.modules()}
    assert all(
        c.bias is None for c in m.modules() if isinstance(c, torch.nn.Conv2d) and id(c) not in se_convs
    )
    assert all(blk.fc1.bias is not None for blk in (b.module for b in m.se_blocks()))
    assert m.layer1[0].se.fc1.out_channels == 16 and m.layer4[0].se.fc1.out_channels == 128
    # SENet-154: deep stem, half-width first 1x1, 3x3 projections from stage 3, dropout 0.2
    assert s.conv3.out_channels == 128 and s.layer1[0].conv1.out_channels == 128
    assert s.layer1[0].conv2.groups == 64 and s.layer1[0].downsample[0].kernel_size == (1, 1)
    assert s.layer2[0].downsample[0].kernel_size == (3, 3) and s.drop.p == 0.2


def test_layer_counts_match_the_paper():
    """PAPER.md section 3: non-SE convs / SE blocks per model."""
    for name, convs, blocks in [
        ("se_resnet50", 53, 16),
        ("se_resnet101", 104, 33),
        ("se_resnet152", 155, 50),
        ("se_resnext50_32x4d", 53, 16),
        ("senet154", 157, 50),
    ]:
        with torch.device("meta"):
            m = create_model(name)
        se = [mod for mod in m.modules() if isinstance(mod, senet.SqueezeExcitation)]
        se_convs = {id(c) for s in se for c in s.modules()}
        n = sum(isinstance(c, torch.nn.Conv2d) and id(c) not in se_convs for c in m.modules())
        assert (n, len(se)) == (convs, blocks), name


def test_se_blocks_paper_names():
    with torch.device("meta"):
        m = create_model("se_resnet50")
    names = [b.name for b in m.se_blocks()]
    assert names[:3] == ["SE_2_1", "SE_2_2", "SE_2_3"] and names[-1] == "SE_5_3" and len(names) == 16


@pytest.mark.parametrize("placement", ["standard", "pre", "post", "identity", "3x3"])
@pytest.mark.parametrize("name", ["se_resnet20_cifar", "se_resnet18"])
def test_placements_run_and_put_se_where_the_paper_says(placement, name):
    model = create_model(name, placement=placement, num_classes=3)
    x = torch.randn(2, 3, 32, 32)
    calls = []
    blk = model.layer1[0]
    blk.se.register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    model(x).sum().backward()
    assert calls, "the SE block was not called"
    stage_in = model.layer1[0].conv1.in_channels
    expected = {"pre": stage_in}.get(placement, blk.conv2.out_channels)
    assert calls[0][1] == expected


def test_stages_knob():
    m = create_model("se_resnet20_cifar", stages=(3,))
    assert [b.stage for b in m.se_blocks()] == [3] * 3
    with pytest.raises(SenetError, match=r"this model's stages are \(2, 3, 4\)"):
        create_model("se_resnet20_cifar", stages=(5,))


@pytest.mark.parametrize(
    "name,kwargs,match",
    [
        ("se_resnet5", {}, "unknown model 'se_resnet5'; did you mean"),
        ("se_resnet50", {"placement": "middle"}, "placement='middle' is not allowed"),
        ("se_resnet50", {"layout": "caffe"}, "layout='caffe' is not allowed"),
        ("se_resnet50", {"reduction": 3}, "reduction=3 does not fit 256 channels"),
        ("se_resnet50", {"colour": 1}, r"does not take \['colour'\]; allowed options"),
        ("resnet50", {"reduction": 8}, "resnet50 has no SE blocks.*use se_resnet50"),
        ("resnet50", {"num_classes": 0}, "num_classes must be a positive integer"),
    ],
)
def test_bad_options_fail_clearly(name, kwargs, match):
    with pytest.raises(SenetError, match=match):
        with torch.device("meta"):
            create_model(name, **kwargs)


def test_wrong_input_channels_is_a_clear_error():
    model = create_model("resnet20_cifar")
    with pytest.raises(SenetError, match=r"expects input of shape \(N, 3, H, W\), got \(1, 1, 32, 32\)"):
        model(torch.randn(1, 1, 32, 32))


def test_timm_conventions():
    model = create_model("se_resnet20_cifar", num_classes=5).eval()
    x = torch.randn(2, 3, 32, 32)
    feats = model.forward_features(x)
    assert feats.shape == (2, 64, 8, 8)
    assert model.forward_head(feats, pre_logits=True).shape == (2, 64)
    torch.testing.assert_close(model.forward_head(feats), model(x))
    model.reset_classifier(11)
    assert model(x).shape == (2, 11) and model.get_classifier().out_features == 11
    model.reset_classifier(0)
    assert model(x).shape == (2, 64)
    cfg = model.default_cfg
    assert cfg["input_size"] == (3, 32, 32) and cfg["num_classes"] == 5 and len(cfg["mean"]) == 3
    assert model_info("se_resnet50").input_size == (3, 224, 224)


def test_models_read_no_private_torch_attributes():
    """The model code uses torch's public API only (no hook dictionaries, no torch._ internals)."""
    import re
    from pathlib import Path

    private = re.compile(
        r"\b(torch|nn|F|fx)(\.\w+)*\._[a-z]\w*|\._(forward|backward)\w*_hooks|\._(modules|parameters|buffers)\b"
    )
    src = Path(senet.__file__).parent / "models"
    hits = [
        f"{p.name}:{i}: {line.strip()}"
        for p in sorted(src.glob("*.py"))
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if private.search(line)
    ]
    assert not hits, hits
