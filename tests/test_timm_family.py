"""timm's SE-ResNet-D family (issue 23), ported as rows of the ResNet table: the same network as timm's.

For each name: a safetensors file of ``timm.create_model(NAME).state_dict()`` loads into
``senet.create_model(NAME, checkpoint=FILE)`` (timm's resnet.py keys as they are, its byobnet ``ts`` keys
renamed on loading) and gives timm's logits and ``features_only`` maps; ``senet.complexity`` counts timm's parameters; the plain twin builds and is counted. BN statistics and
gains are randomized first (timm zero-inits each unit's last BN gain, which would hide the whole residual
branch, SE included, from the comparison). The small models run for real in the default suite; the big ones
are compared on the meta device (keys, shapes, parameter counts) there and run for real in the slow run.
"""

import functools

import numpy as np
import pytest
import torch
from torch import nn

import senet
from senet.hub.weights import convert_state_dict, detect_style
from senet.layers.se import se_hidden_divisible
from senet.models.resnet import TIMM_SE_NAMES

timm = pytest.importorskip("timm")
safetensors_torch = pytest.importorskip("safetensors.torch")

SMALL = [
    "seresnext26d_32x4d",
    "seresnext26t_32x4d",
    "seresnet50t",
    "seresnetaa50d",
    "resnetaa50d",
    "seresnext26ts",  # timm's byobnet: tiered stem + max pool, SiLU, SE on the mid channels, groups of 32
    "seresnet33ts",  # the same without the stem pool, and a final 1x1 conv to 1280 features
]
TS = ["seresnext26ts", "seresnet33ts", "resnext26ts", "resnet33ts"]  # timm's byobnet.py rows
BIG = [
    "seresnet152d",
    "seresnet200d",
    "seresnet269d",
    "seresnext101_32x8d",
    "seresnext101_64x4d",
    "seresnext101d_32x8d",
    "seresnextaa101d_32x8d",
    "seresnextaa201d_32x8d",
]
SE_NAMES = sorted(TIMM_SE_NAMES.values())
PLAIN_NAMES = sorted(TIMM_SE_NAMES)
# The plain twins timm itself has; the others are named as timm would name them (resnet.py's comment).
TIMM_PLAIN = [n for n in PLAIN_NAMES if n in timm.list_models()]


def test_the_rows_are_the_ones_the_issue_names():
    assert {n for n in SMALL + BIG if n in SE_NAMES} == set(SE_NAMES)
    assert {"resnet50t", "resnetaa50d", "resnet152d", "resnet200d", "resnext101_32x8d"} <= set(TIMM_PLAIN)
    for se, plain in ((s, p) for p, s in TIMM_SE_NAMES.items()):
        assert senet.model_info(se).twin == plain and senet.model_info(plain).twin == se
        assert senet.model_info(se).se and not senet.model_info(plain).se
        assert senet.model_options(se)["layout"] == "torchvision"  # timm's layout by default


def _randomize_bn(model: nn.Module, seed: int = 1) -> nn.Module:
    """Random BN statistics and affine terms, gains weight / sqrt(var) within (0.35, 1) (test_fast.py: deep
    random nets stay well-conditioned)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 1.0)
                m.weight.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.5)
                m.bias.copy_((torch.rand(m.num_features, generator=g) - 0.5) * 0.2)
    return model


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def _size(name: str) -> int:
    # Anti-aliased nets need a multiple of 32 (timm's blur pool floors, its avg-pool shortcut ceils); the
    # others run at 80 px, whose odd 5x5 map at stride 16 exercises the ceil-mode shortcut pool.
    return 64 if "aa" in name else 80


def _check_parity(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    theirs = _randomize_bn(timm.create_model(name)).eval()
    path = tmp_path / f"{name}.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in theirs.state_dict().items()}, str(path))
    ours = senet.create_model(name, checkpoint=path).eval()
    x = torch.randn(2, 3, _size(name), _size(name))
    with torch.no_grad():
        want, got = theirs(x), ours(x)
    assert got.shape == want.shape == (2, 1000)
    assert _rel(got, want) <= 1e-5, _rel(got, want)
    assert want.std() > 0  # not a degenerate network whose logits agree for any weights
    # features_only: timm's maps (stem ReLU, layer1..layer4), same count, shapes and values.
    their_feats = timm.create_model(  # timm loads the file itself (its own key names for its feature net)
        name, features_only=True, pretrained=True, pretrained_cfg_overlay={"file": str(path)}
    ).eval()
    our_feats = senet.create_model(name, checkpoint=path, features_only=True).eval()
    with torch.no_grad():
        want_maps, got_maps = their_feats(x), our_feats(x)
    assert len(got_maps) == len(want_maps) == 5
    for w, g in zip(want_maps, got_maps):
        assert g.shape == w.shape
        assert _rel(g, w) <= 1e-5
    assert our_feats.feature_info.channels() == their_feats.feature_info.channels()
    assert our_feats.feature_info.reduction() == their_feats.feature_info.reduction()
    if name == "seresnext26ts":  # a file without a card in timm's layout: the official layout is refused
        with pytest.raises(senet.CheckpointError, match="torchvision layout"):
            senet.create_model(name, checkpoint=path, layout="official")


@pytest.mark.parametrize("name", SMALL)
def test_small_models_give_timms_logits_and_feature_maps(name, tmp_path):
    _check_parity(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", BIG + [n for n in TIMM_PLAIN if n not in SMALL])
def test_big_models_give_timms_logits_and_feature_maps(name, tmp_path):
    _check_parity(name, tmp_path)


def _timm_meta(name: str, **kwargs):
    with torch.device("meta"):
        model = timm.create_model(name, **kwargs)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}, sum(
        p.numel() for p in model.parameters()
    )


def _senet_meta(name: str, **options):
    with torch.device("meta"):
        model = senet.create_model(name, **options)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}, model


@pytest.mark.parametrize("name", SE_NAMES + TIMM_PLAIN)
def test_keys_shapes_and_parameters_are_timms(name):
    """Every name, the 150M-parameter ones included, on the meta device: timm's state_dict keys and shapes
    exactly, and ``senet.complexity`` counts timm's parameters."""
    their_keys, their_params = _timm_meta(name)
    assert detect_style(their_keys) == ("byobnet" if name in TS else "senet")
    their_keys = convert_state_dict(their_keys)  # byobnet's names -> senet's; resnet.py's: as they are
    our_keys, _ = _senet_meta(name)
    assert our_keys == their_keys, sorted(set(our_keys) ^ set(their_keys))[:5]
    assert senet.complexity(name).params == their_params


@pytest.mark.parametrize("plain", PLAIN_NAMES)
def test_plain_twins_are_the_se_model_without_its_se_blocks(plain):
    se = TIMM_SE_NAMES[plain]
    se_keys, se_model = _senet_meta(se)
    plain_keys, plain_model = _senet_meta(plain)
    assert not any(isinstance(m, senet.SqueezeExcitation) for m in plain_model.modules())
    assert plain_keys == {k: v for k, v in se_keys.items() if ".se." not in k}
    se_params = sum(p.numel() for n, p in se_model.named_parameters() if ".se." in n)
    c_plain, c_se = senet.complexity(plain), senet.complexity(se)
    assert c_plain.params == c_se.params - se_params > 0
    assert 0 < c_plain.macs < c_se.macs


@pytest.mark.parametrize(
    "channels,reduction", [(256, 16), (2048, 16), (64, 16), (100, 16), (256, 3), (24, 7)]
)
def test_se_width_is_rounded_as_timm_rounds(channels, reduction):
    from timm.layers import make_divisible

    assert se_hidden_divisible(channels, reduction, 8) == make_divisible(
        channels / reduction, 8, round_limit=0.0
    )


def test_se_rounding_where_the_papers_c_over_r_is_not_whole():
    """reduction=3 (C/r not a whole number for 256..2048): timm's rd_ratio=1/3 rounding, same parameters;
    the paper's rows refuse it."""
    from timm.layers import SEModule

    attn = functools.partial(SEModule, rd_ratio=1 / 3)
    their_keys, their_params = _timm_meta("seresnext26d_32x4d", block_args={"attn_layer": attn})
    our_keys, _ = _senet_meta("seresnext26d_32x4d", reduction=3)
    assert (
        our_keys == their_keys and senet.complexity("seresnext26d_32x4d", reduction=3).params == their_params
    )
    assert our_keys["layer1.0.se.fc1.weight"] == (88, 256, 1, 1)  # 256 / 3 = 85.3 -> 88
    with pytest.raises(senet.SenetError, match="reduction=3"):
        _senet_meta("se_resnet50", reduction=3)


def test_the_ts_rows_say_where_they_differ_from_the_papers_se_block():
    """timm's byobnet ts rows: the SE block on the bottleneck's mid channels by default (placement "3x3",
    byobnet's attn before conv3), C/r rounded to a multiple of 8 (64 channels: 8 hidden units, r = 8), SiLU
    in the network and ReLU inside the SE block (timm's SEModule); ``senet complexity`` counts those blocks,
    and the paper's position is one option away."""
    from senet.hub.weights import model_card
    from senet.models.resnet import TIMM_SPECS

    spec = TIMM_SPECS["resnext26ts"]
    assert (spec.act, spec.se_placement, spec.se_divisor, spec.group_size) == ("silu", "3x3", 8, 32)
    assert not TIMM_SPECS["resnet33ts"].stem_pool and TIMM_SPECS["resnet33ts"].num_features == 1280
    assert senet.model_options("seresnext26ts")["placement"] == "3x3"
    assert senet.model_options("seresnext26d_32x4d")["placement"] == "standard"
    _, model = _senet_meta("seresnext26ts")
    se = [b.module for b in model.se_blocks()]
    assert [(m.channels, m.hidden) for m in se[::2]] == [(64, 8), (128, 8), (256, 16), (512, 32)]
    assert all(isinstance(m.relu, nn.ReLU) for m in se) and isinstance(model.layer1[0].silu, nn.SiLU)
    assert [model.get_submodule(f"layer{i}.0.conv2").groups for i in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert model_card(model)["options"]["placement"] == "3x3"  # a saved file says where its blocks sit
    c, c_plain = senet.complexity("seresnext26ts"), senet.complexity("resnext26ts")
    assert c.params - c_plain.params == sum(p.numel() for m in se for p in m.parameters())
    _, paper = _senet_meta("seresnext26ts", placement="standard")  # on the unit's output, C/r of 256..2048
    widths = [(b.module.channels, b.module.hidden) for b in paper.se_blocks()]
    assert widths[::2] == [(256, 16), (512, 32), (1024, 64), (2048, 128)]


def test_optimize_for_inference_folds_the_ts_rows():
    """seresnet33ts (no stem pool, final 1x1 conv): every BN folded, the same function. Its units end in
    SiLU, so they keep their own forward (the fused step is the ReLU units' relu(se(x) + shortcut))."""
    torch.manual_seed(0)
    model = _randomize_bn(senet.create_model("seresnet33ts", num_classes=10)).eval().double()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    fast = senet.optimize_for_inference(model)
    with torch.no_grad():
        want, got = model(x), fast(x)
    assert _rel(got, want) <= 1e-9
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    assert not any(isinstance(m, torch.fx.GraphModule) for m in fast.modules())


# ---- deployment: ONNX and optimize_for_inference on the new modules (avg-pool shortcut, aa pools) ----------
DEPLOY = ["seresnext26d_32x4d", "seresnetaa50d"]


@pytest.mark.slow  # 6-10 s a model; ONNX export of the ResNets runs in the default suite (tests/test_export.py)
@pytest.mark.parametrize("name", DEPLOY + ["seresnext26ts", "seresnet33ts"])
def test_onnx_export_gives_the_same_logits(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(0)
    model = _randomize_bn(senet.create_model(name, num_classes=10)).eval()
    path = senet.export(model, tmp_path / f"{name}.onnx", "onnx", size=64)
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        ref = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(ref).max())))


@pytest.mark.parametrize("name", DEPLOY)
def test_optimize_for_inference_folds_and_fuses_the_new_units(name):
    torch.manual_seed(0)
    model = _randomize_bn(senet.create_model(name, num_classes=10)).eval().double()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    fast = senet.optimize_for_inference(model)
    with torch.no_grad():
        want, got = model(x), fast(x)
    assert _rel(got, want) <= 1e-9
    # every BN folded: the stem's (conv1.6 -> bn1), the avg-pool shortcuts' (downsample.1 -> .2), the units'
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    fused = [m for m in fast.modules() if isinstance(m, torch.fx.GraphModule)]
    assert len(fused) == sum(len(layer) for _, layer in model.stages())  # every unit one fused step
    assert all("se_scale_add_relu" in m.code for m in fused)
    pools = [m for m in fast.modules() if isinstance(m, nn.AvgPool2d)]
    assert len(pools) == (3 + 3 + 1 if "aa" in name else 3)  # shortcuts, then units and stem with aa


def test_the_docs_table_is_what_senet_complexity_counts():
    """docs/models.md's "Beyond the paper" table: one row per pair, params as counted (meta device)."""
    import re
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "models.md").read_text()
    section = text.split("## Beyond the paper", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` -> `(\w+)` \|[^|]*\| ([\d,]+) -> ([\d,]+) \|", section, re.M)
    assert sorted((p, s) for p, s, _, _ in rows) == sorted(TIMM_SE_NAMES.items())
    for plain, se, n_plain, n_se in rows:
        assert senet.complexity(plain).params == int(n_plain.replace(",", "")), plain
        assert senet.complexity(se).params == int(n_se.replace(",", "")), se
