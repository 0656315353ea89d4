"""The model zoo of Tables 2-5: registration, forward + backward, and the paper's counts."""

from __future__ import annotations

import pytest
import torch

import senet
from senet import SenetError, complexity, create_model, list_models, model_info

ZOO = {
    "vgg16_bn": "se_vgg16_bn",
    "bn_inception": "se_bn_inception",
    "inception_resnet_v2": "se_inception_resnet_v2",
    "mobilenet": "se_mobilenet",
    "shufflenet_g3": "se_shufflenet_g3",
    "resnet164_cifar": "se_resnet164_cifar",
    "wrn16_8": "se_wrn16_8",
    "shake_shake26_2x96d": "se_shake_shake26_2x96d",
    "shake_even29_2x4x64d": "se_shake_even29_2x4x64d",
}
ALL = [*ZOO, *ZOO.values()]
# Heavy at their smallest input on 2 CPU cores: forward/backward checked in the slow run only.
HEAVY = {"vgg16_bn", "se_vgg16_bn", "inception_resnet_v2", "se_inception_resnet_v2"}


def _small(name):
    """A cheap copy of the model: 10 classes (VGG's 25088 x 4096 fc6 dominates otherwise)."""
    torch.manual_seed(0)
    return create_model(name, num_classes=10)


@pytest.mark.parametrize("plain", list(ZOO))
def test_registered_with_twins(plain):
    se = ZOO[plain]
    assert plain in list_models() and se in list_models()
    assert model_info(plain).twin == se and model_info(se).twin == plain
    assert model_info(se).se and not model_info(plain).se


def _forward_backward(name):
    model = _small(name).train()
    size = model_info(name).min_input_size
    out = model(torch.randn(2, 3, size, size))
    assert out.shape == (2, 10)
    out.logsumexp(1).sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    return model


# The plain twins run in tests/test_models.py (every registered model); here the SE models and their blocks.
@pytest.mark.parametrize("name", [n for n in ZOO.values() if n not in HEAVY])
def test_forward_backward_every_parameter_gets_gradient(name):
    model = _forward_backward(name)
    blocks = [b.module for b in model.se_blocks()]
    assert blocks and any(b.fc1.weight.grad.abs().sum() > 0 for b in blocks)
    assert all(isinstance(b, senet.SqueezeExcitation) for b in blocks)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HEAVY))
def test_forward_backward_heavy(name):
    _forward_backward(name)


def test_min_input_size_is_tight():
    """Inception-ResNet-v2's valid convolutions need 75 pixels; one less fails."""
    model = create_model("inception_resnet_v2", num_classes=10).eval()
    assert model_info("inception_resnet_v2").min_input_size == 75
    with torch.no_grad():
        model(torch.randn(1, 3, 75, 75))
        with pytest.raises(RuntimeError):
            model(torch.randn(1, 3, 74, 74))


@pytest.mark.parametrize(
    "name, n, first, last",
    [
        ("se_bn_inception", 10, "SE_3a", "SE_5b"),
        ("se_vgg16_bn", 13, "SE_1_1", "SE_5_3"),
        ("se_mobilenet", 13, "SE_1", "SE_13"),
        ("se_shufflenet_g3", 16, "SE_2_1", "SE_4_4"),
        ("se_inception_resnet_v2", 40, "SE_A1", "SE_C10"),
        ("se_resnet164_cifar", 54, "SE_2_1", "SE_4_18"),
        ("se_shake_even29_2x4x64d", 9, "SE_2_1", "SE_4_3"),
    ],
)
def test_se_block_names(name, n, first, last):
    with torch.device("meta"):
        blocks = [b.name for b in create_model(name).se_blocks()]
    assert len(blocks) == n and blocks[0] == first and blocks[-1] == last


def test_se_bn_inception_hidden_sizes_match_the_prototxt():
    """PAPER.md section 2: (down, up) sizes of the official SE-BN-Inception."""
    with torch.device("meta"):
        blocks = create_model("se_bn_inception").se_blocks()
    sizes = [(b.module.fc1.out_channels, b.module.fc1.in_channels) for b in blocks]
    assert sizes == [
        (16, 256),
        (20, 320),
        (36, 576),
        (36, 576),
        (36, 576),
        (38, 608),
        (38, 608),
        (66, 1056),
        (64, 1024),
        (64, 1024),
    ]


def test_se_bn_inception_exact_parameter_count():
    assert complexity("se_bn_inception").params == 11_931_622


def _close(ours, paper, tol):
    return abs(ours - paper) <= tol * paper


@pytest.mark.parametrize(
    "name, gflops, tol",
    [
        ("vgg16_bn", 15.47, 0.005),
        ("se_vgg16_bn", 15.48, 0.005),
        ("bn_inception", 2.03, 0.005),
        ("se_bn_inception", 2.04, 0.005),
        ("mobilenet", 0.569, 0.02),
        ("se_mobilenet", 0.572, 0.02),
        ("shufflenet_g3", 0.140, 0.02),
    ],
)
def test_flops_match_tables_2_and_3(name, gflops, tol):
    assert _close(complexity(name).gflops, gflops, tol), complexity(name)


@pytest.mark.parametrize("name, millions", [("mobilenet", 4.2), ("se_mobilenet", 4.7)])
def test_mobilenet_params_match_table_3(name, millions):
    assert _close(complexity(name).params / 1e6, millions, 0.02)


def test_shufflenet_counts_documented():
    """Table 3 prints 1.8M / 2.4M; ShuffleNet 1x g=3 has 1.87M (megvii's release: 1.9M), the paper
    truncates. The SE blocks add the +0.61M of PAPER.md section 2 (docs/models.md)."""
    plain, se = complexity("shufflenet_g3"), complexity("se_shufflenet_g3")
    assert plain.params == 1_865_728
    assert int(plain.params / 1e5) == 18 and int(se.params / 1e5) == 24  # 1.8M and 2.4M, truncated
    assert 600_000 < se.params - plain.params < 625_000


def test_inception_resnet_v2_counts_documented():
    """The released layout (= timm's): 55.8M params, 13.16 GMACs at 299 (Table 2 says 11.75; docs)."""
    plain, se = complexity("inception_resnet_v2"), complexity("se_inception_resnet_v2")
    assert plain.input_size == 299
    assert plain.params == 55_843_464 and round(plain.gflops, 2) == 13.16
    # Table 2: +0.01 GFLOPs, which matches the SE FCs alone; the squeeze and scale add 1 op per element.
    model = create_model("se_inception_resnet_v2")
    elements = []
    for blk in model.se_blocks():
        blk.module.register_forward_hook(lambda m, i, o: elements.append(i[0][0].numel()))
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, 299, 299))
    assert 0.005 < se.gflops - plain.gflops - sum(elements) / 1e9 < 0.015
    # The paper's 11.75 / 11.76 fit the same network with grids one cell smaller (34/16/7, e.g. at 297 px).
    small, small_se = complexity("inception_resnet_v2", 297), complexity("se_inception_resnet_v2", 297)
    assert abs(small.gflops / 11.75 - 1) < 0.005 and abs(small_se.gflops / 11.76 - 1) < 0.005
    grids = []
    for m in (
        (small_model := create_model("inception_resnet_v2").eval()).blocks_a,
        small_model.blocks_b,
        small_model.blocks_c,
    ):
        m.register_forward_hook(lambda mod, i, o: grids.append(o.shape[-1]))
    with torch.no_grad():
        small_model(torch.zeros(1, 3, 297, 297))
    assert grids == [34, 16, 7]


@pytest.mark.parametrize(
    "name, millions",
    [
        ("resnet164_cifar", 1.7),
        ("wrn16_8", 11.0),
        ("shake_shake26_2x96d", 26.2),
        ("shake_even29_2x4x64d", 34.4),
        ("resnet110_cifar", 1.7),
    ],
)
def test_cifar_params_match_original_papers(name, millions):
    assert _close(complexity(name).params / 1e6, millions, 0.02)


def test_shake_even_defaults_to_cifar100_and_shake_to_cifar10():
    assert model_info("shake_even29_2x4x64d").num_classes == 100
    assert model_info("shake_shake26_2x96d").num_classes == 10


@pytest.mark.parametrize("backward", ["shake", "even"])
def test_shake_forward_random_backward_weights(backward):
    from senet.models.shake import shake

    torch.manual_seed(0)
    a = torch.ones(64, 1, 2, 2, requires_grad=True)
    b = torch.zeros(64, 1, 2, 2, requires_grad=True)
    out = shake(a, b, backward, training=True)
    alpha = out[:, 0, 0, 0]
    assert alpha.std() > 0.1 and ((alpha >= 0) & (alpha <= 1)).all()  # per-image random forward
    assert torch.allclose(out, alpha.view(-1, 1, 1, 1).expand_as(out))  # one weight per image
    out.sum().backward()
    ga = a.grad[:, 0, 0, 0]
    assert torch.allclose(ga + b.grad[:, 0, 0, 0], torch.ones(64))  # beta + (1 - beta)
    if backward == "even":
        assert torch.allclose(ga, torch.full((64,), 0.5))
    else:
        assert ga.std() > 0.1 and not torch.allclose(ga, alpha)  # independent of the forward weight
    assert torch.equal(shake(a, b, backward, training=False), torch.full_like(out, 0.5))


def test_shake_models_are_deterministic_in_eval():
    model = _small("shake_shake26_2x96d").eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))


@pytest.mark.parametrize("placement", ["pre", "post", "identity"])
def test_cifar_placements(placement):
    model = create_model("se_wrn16_8", placement=placement, num_classes=10)
    model(torch.randn(2, 3, 8, 8)).sum().backward()


@pytest.mark.parametrize(
    "name, options, match",
    [
        ("se_mobilenet", {"placement": "pre"}, "placement=.pre. is not allowed; choose one of .standard."),
        ("se_bn_inception", {"stages": (3,)}, "stages= does not apply"),
        ("se_vgg16_bn", {"stages": (6,)}, "stages"),
        ("se_shufflenet_g3", {"reduction": 0}, "reduction"),
        ("se_resnet164_cifar", {"placement": "3x3"}, "placement"),
        ("mobilenet", {"reduction": 8}, "no SE blocks"),
    ],
)
def test_bad_se_options(name, options, match):
    with pytest.raises(SenetError, match=match):
        create_model(name, **options)


def test_stages_option_limits_se_blocks():
    with torch.device("meta"):
        blocks = create_model("se_vgg16_bn", stages=(5,)).se_blocks()
    assert [(b.name, b.stage, b.index) for b in blocks] == [
        ("SE_5_1", 5, 1),
        ("SE_5_2", 5, 2),
        ("SE_5_3", 5, 3),
    ]


def test_shufflenet_se_on_the_branch_of_stride2_units():
    """Stage 2's first branch has 216 channels: SE hidden width floor(216 / 16) = 13."""
    with torch.device("meta"):
        blocks = {b.name: b.module for b in create_model("se_shufflenet_g3").se_blocks()}
    assert (blocks["SE_2_1"].fc1.in_channels, blocks["SE_2_1"].fc1.out_channels) == (216, 13)
    assert blocks["SE_3_1"].fc1.in_channels == 240 and blocks["SE_3_2"].fc1.in_channels == 480


@pytest.mark.parametrize("name", ["se_resnet164_cifar", "se_wrn16_8", "se_shake_shake26_2x96d"])
def test_se_pre_scales_the_branch_input_not_the_shortcut(name):
    """SE-PRE (Fig. 5c): with the branch's convs zeroed, an identity unit passes its input unchanged."""
    model = create_model(name, placement="pre").eval()
    unit = next(m for m in model.modules() if getattr(m, "placement", None) == "pre" and m.shortcut is None)
    for m in unit.modules():
        if isinstance(m, torch.nn.Conv2d) and not any(m is c for c in unit.se.modules()):
            torch.nn.init.zeros_(m.weight)
    x = torch.randn(2, unit.se.channels, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(unit(x), x)
