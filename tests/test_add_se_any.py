"""``senet.add_se`` on any CNN (issue 16): places read from the fx graph, on real torchvision networks.

Every network is built offline with random weights. For each, the added parameters equal the paper's formula
over the reported places (Sec. 3.2: 2 C h, plus h + C with biases, h = C/r), the original state_dict keys
stay, the new keys are exactly the reported blocks', and one training step gives every block a gradient.
"""

from __future__ import annotations

import copy
import io
import warnings

import pytest
import torch
import torchvision
from torch import nn

import senet
from senet import SenetError, add_se
from senet.retrofit.points import SEPoint, format_se_points, se_points

# name -> (places the architecture has, input size for a training step); counts from the papers' figures:
# VGG-16 has 13 convs, MobileNetV2 17 bottlenecks, DenseNet-121 58 dense layers, GoogLeNet 9 Inception
# modules, Inception-v3 11 (5b-5d, 6a-6e, 7a-7c), RegNetX-400MF 22 blocks, ConvNeXt-T 3+3+9+3.
ARCHS = {
    "resnext50_32x4d": (16, 32),
    "wide_resnet50_2": (16, 32),
    "vgg16_bn": (13, 32),
    "mobilenet_v2": (17, 32),
    "densenet121": (58, 32),
    "regnet_x_400mf": (22, 32),
    "convnext_tiny": (18, 32),
    "googlenet": (9, 32),
    "inception_v3": (11, 75),
}
KINDS = {
    "resnext50_32x4d": {"residual"},
    "wide_resnet50_2": {"residual"},
    "vgg16_bn": {"plain"},
    "mobilenet_v2": {"residual", "separable"},
    "densenet121": {"dense"},
    "regnet_x_400mf": {"residual"},
    "convnext_tiny": {"residual"},
    "googlenet": {"multi-branch"},
    "inception_v3": {"multi-branch"},
}


def _formula(p: SEPoint, bias: bool = True) -> int:
    return 2 * p.channels * p.hidden + (p.hidden + p.channels if bias else 0)


def _tv(name: str, meta: bool = False) -> nn.Module:
    """A torchvision classifier with random weights (on the meta device: shapes only, for counting)."""
    extra = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    with warnings.catch_warnings(), torch.device("meta" if meta else "cpu"):
        warnings.simplefilter("ignore")
        return torchvision.models.get_model(name, weights=None, num_classes=4, **extra)


def _step_gives_every_block_a_gradient(model: nn.Module, size: int) -> None:
    torch.manual_seed(0)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss = nn.functional.cross_entropy(model(torch.randn(2, 3, size, size)), torch.tensor([0, 3]))
    loss.backward()
    for p in se_points(model):  # fc1 of a 1- or 2-wide block may sit behind a dead ReLU: look at all
        grads = [q.grad for q in model.get_submodule(p.path).parameters()]
        assert all(g is not None for g in grads) and any(g.abs().sum() > 0 for g in grads), p.path
    opt.step()


@pytest.mark.parametrize("name", list(ARCHS))
def test_torchvision_architecture(name):
    model = _tv(name)
    keys, before = set(model.state_dict()), sum(p.numel() for p in model.parameters())
    add_se(model)
    points = se_points(model)
    count, size = ARCHS[name]
    assert len(points) == count and {p.kind for p in points} == KINDS[name]
    added = sum(p.numel() for p in model.parameters()) - before
    assert added == sum(_formula(p) for p in points)
    for p in points:
        se = model.get_submodule(p.path)
        assert isinstance(se, senet.SqueezeExcitation) and se.channels == p.channels
        assert p.hidden == max(1, p.channels // 16)
    new = set(model.state_dict())
    assert keys <= new  # torchvision's weights still load by key
    expected = {f"{p.path}.{k}" for p in points for k in ("fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias")}
    assert new - keys == expected
    _step_gives_every_block_a_gradient(model, size)


def test_vgg_blocks_follow_each_convs_nonlinearity():
    """SE-VGG-16 (PAPER.md section 2): after the ReLU of each of the 13 convs, widths 64..512, r = 16."""
    model = add_se(_tv("vgg16_bn", meta=True))
    relus = [n for n, m in _tv("vgg16_bn", meta=True).features.named_children() if isinstance(m, nn.ReLU)]
    assert [p.path for p in se_points(model)] == [f"features.{i}.se" for i in relus]
    assert [p.channels for p in se_points(model)] == [64] * 2 + [128] * 2 + [256] * 3 + [512] * 6
    assert [p.stage for p in se_points(model)] == [0] * 2 + [1] * 2 + [2] * 3 + [3] * 3 + [4] * 3


def test_resnet50_keeps_the_block_swap_and_reports_it():
    model = add_se(torchvision.models.resnet50())
    points = se_points(model)
    assert [p.path for p in points][:2] == ["layer1.0.se", "layer1.1.se"]
    assert [p.stage for p in points] == [2] * 3 + [3] * 4 + [4] * 6 + [5] * 3
    assert sum(p.params for p in points) == 2_530_992
    assert type(model.layer1[0]).__name__ == "SEBottleneck"


@pytest.mark.parametrize("name, added, skipped", [("mobilenet_v3_small", 2, 9)])
def test_blocks_with_se_are_skipped_and_said(name, added, skipped):
    """MobileNetV3-Small has SE in 9 of its 11 bottlenecks: those are left alone and listed."""
    model = add_se(_tv(name))
    assert len(se_points(model)) == added and len(model.se_skipped) == skipped
    assert all("already has an SE gate" in why for _, why in model.se_skipped)
    table = format_se_points(model)
    assert f"{added} SE blocks" in table and table.count("skipped ") == skipped
    _step_gives_every_block_a_gradient(model, 32)


def test_efficientnet_already_has_se_everywhere():
    model = _tv("efficientnet_b0")
    keys = set(model.state_dict())
    with pytest.raises(SenetError, match=r"already has SE blocks in every place .*16"):
        add_se(model)
    assert set(model.state_dict()) == keys


def _user_cnn(in_chans: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_chans, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
    )  # fmt: skip


def test_users_sequential_cnn():
    model = add_se(_user_cnn(), reduction=8, bias=False)
    assert [(p.path, p.channels, p.hidden, p.stage) for p in se_points(model)] == [
        ("2.se", 32, 4, 0),
        ("6.se", 64, 8, 1),
    ]
    assert sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in _user_cnn().parameters()
    ) == sum(_formula(p, bias=False) for p in se_points(model))
    out = model(torch.randn(2, 1, 16, 16))
    out.sum().backward()
    assert model[2].se.fc1.weight.grad is not None


def test_where_and_stages_pick_blocks():
    model = add_se(_tv("vgg16_bn", meta=True), where="features.4*")
    assert [p.path for p in se_points(model)] == ["features.42.se"]
    model = add_se(_tv("vgg16_bn", meta=True), stages=(3, 4))
    assert {p.stage for p in se_points(model)} == {3, 4} and len(se_points(model)) == 6
    with pytest.raises(SenetError, match="match none"):
        add_se(_user_cnn(), where="classifier.*")
    with pytest.raises(SenetError, match=r"stages=\(7,\).*stages are"):
        add_se(_user_cnn(), stages=7)


def test_post_placement_goes_after_the_addition():
    """SE-POST (Table 14): after the addition (and its activation) of each residual block."""
    model = add_se(_tv("regnet_x_400mf"), placement="post")
    points = se_points(model)
    assert len(points) == 22 and {p.kind for p in points} == {"post"}
    assert points[0].path == "trunk_output.block1.block1-0.activation.se"  # the ReLU after the sum
    _step_gives_every_block_a_gradient(model, 32)


def test_the_result_copies_pickles_traces_and_exports(tmp_path):
    """Swapped classes pickle by their base; fx and torch.export see every block (no hooks)."""
    model = add_se(_tv("googlenet")).eval()
    x = torch.randn(1, 3, 32, 32)
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
        torch.testing.assert_close(copy.deepcopy(model)(x), model(x))
        gm = torch.fx.symbolic_trace(model)
        torch.testing.assert_close(gm(x), model(x))
    assert sum(n.op == "call_module" and n.target.endswith(".se.fc1") for n in gm.graph.nodes) == 9
    ep = torch.export.export(model, (x,))
    torch.testing.assert_close(ep.module()(x), model(x))


def test_onnx_export_matches_pytorch(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    torch.manual_seed(0)
    model = add_se(_user_cnn(in_chans=3)).eval()
    path = senet.export(model, tmp_path / "m.onnx", size=16)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, 16, 16)
    out = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(out), model(x), rtol=1e-4, atol=1e-5)
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Sigmoid") == len(se_points(model)) == 2  # the exported graph holds both gates


def test_optimize_for_inference_keeps_the_function():
    torch.manual_seed(0)
    model = add_se(_tv("mobilenet_v2")).eval()
    with torch.no_grad():
        for m in model.modules():  # non-trivial BN statistics, so folding has something to fold
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        fast = senet.optimize_for_inference(model)
        x = torch.randn(2, 3, 32, 32)
        torch.testing.assert_close(fast(x), model(x), rtol=1e-4, atol=1e-4)
    assert sum(isinstance(m, senet.SqueezeExcitation) for m in fast.modules()) == 17


def test_create_model_save_and_reload(tmp_path):
    model = senet.create_model("torchvision:mobilenet_v2", num_classes=3, add_se=True, reduction=8)
    path = senet.save_weights(model, tmp_path / "w.safetensors")
    from senet.hub.weights import read_weights

    card = read_weights(path)[1]
    assert card["model"] == "torchvision:mobilenet_v2" and card["options"]["add_se"] is True
    assert card["se_points"] == [p.path for p in se_points(model)] and card["options"]["reduction"] == 8
    again = senet.create_model(
        "torchvision:mobilenet_v2", num_classes=3, add_se=True, reduction=8, checkpoint=path
    )
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(again.eval()(x), model.eval()(x))
    with pytest.raises(senet.CheckpointError, match=r"add_se=True.*--add-se"):
        senet.create_model("torchvision:mobilenet_v2", num_classes=3, checkpoint=path)
    with pytest.raises(senet.CheckpointError, match="SE blocks at 17 places"):
        senet.create_model(
            "torchvision:mobilenet_v2", num_classes=3, add_se=True, reduction=8, where="features.1*",
            checkpoint=path,
        )  # fmt: skip


def test_torchvision_names_in_the_registry():
    info = senet.model_info("torchvision:inception_v3")
    assert info.input_size == (3, 299, 299) and info.family == "torchvision"
    with pytest.raises(SenetError, match="did you mean torchvision:vgg16_bn"):
        senet.create_model("torchvision:vgg16_bm")
    with pytest.raises(SenetError, match=r"pass add_se=True \(--add-se\)"):
        senet.create_model("torchvision:vgg11", reduction=8)
    with pytest.raises(SenetError, match="already has SE"):
        senet.create_model("se_resnet18", add_se=True)
    with pytest.raises(SenetError, match="features_only and pretrained are for senet's models"):
        senet.create_model("torchvision:resnet18", pretrained=True)
    assert len(se_points(senet.create_model("torchvision:resnet18", add_se=1))) == 8  # NAME[add_se=1]
    plain = senet.create_model("resnet18", add_se=True)  # a registered plain twin retrofits too
    assert len(se_points(plain)) == 8


class _Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x) if x.sum() > 0 else x  # data-dependent: fx cannot trace it


class _RootResidual(nn.Module):
    """A residual addition in the root's own forward: no submodule returns the branch alone."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(8, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + x)


@pytest.mark.parametrize(
    "model, options, match",
    [
        (_Branchy(), {}, r"cannot trace _Branchy with torch.fx"),
        (_RootResidual(), {}, r"cannot attach SE after conv2 .*wrap the block in its own nn.Module"),
        (nn.Sequential(nn.Flatten(), nn.Linear(3, 4)), {}, r"cannot handle Sequential: it has no nn.Conv2d"),
        (_user_cnn(), {"placement": "identity"}, r"standard or post in a graph, not 'identity'"),
        (_user_cnn(), {"where": 3}, r"where= takes module-name patterns"),
    ],
)
def test_refusals_leave_the_model_unchanged(model, options, match):
    keys = set(model.state_dict())
    with pytest.raises(SenetError, match=match):
        add_se(model, **options)
    assert set(model.state_dict()) == keys and not se_points(model)


def test_twice_is_refused():
    model = add_se(_user_cnn())
    with pytest.raises(SenetError, match="already has SE"):
        add_se(model)


def test_cli_trains_resumes_and_evaluates_a_retrofitted_torchvision_model(tmp_path, capsys):
    """`senet train --model torchvision:NAME --add-se`: stopped after a step, resumed (the run rebuilds the
    same network), then `senet eval` rebuilds it from the weights' card alone."""
    from senet.cli import main
    from senet.hub.weights import read_weights

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    run = ["train", "--model", "torchvision:mobilenet_v3_small", "--add-se", "--se-where", "features.3*"]
    run += ["--data", "synthetic:3", "--epochs", "1", "--batch-size", "16", "--max-batches", "2"]
    run += ["--workers", "0", "--no-progress", "--no-tensorboard", "--out", str(tmp_path / "r")]
    try:
        assert main([*run, "--max-steps", "1"]) == 0
        assert (tmp_path / "r" / "checkpoint_last.pt").is_file()
        assert not (tmp_path / "r" / "model.safetensors").exists()  # stopped, not finished
        assert main([*run, "--resume", "auto"]) == 0
        card = read_weights(tmp_path / "r" / "model.safetensors")[1]
        assert card["options"]["add_se"] is True and card["options"]["where"] == ["features.3*"]
        assert card["se_points"] == ["features.3.block.2.se"]
        capsys.readouterr()
        eval_argv = [
            "eval",
            "--checkpoint",
            str(tmp_path / "r" / "model.safetensors"),
            "--data",
            "synthetic:3",
        ]
        assert main([*eval_argv, "--workers", "0"]) == 0
        assert "torchvision:mobilenet_v3_small on synthetic" in capsys.readouterr().out
    finally:
        torch.set_num_threads(n)


def test_export_and_bench_take_a_retrofitted_torchvision_model(tmp_path):
    """`senet export NAME --checkpoint` rebuilds the SE network from the weights' card; `senet bench`
    times `torchvision:NAME[add_se=1]` (the registry inserts the blocks) beside the plain network."""
    pytest.importorskip("onnxruntime")
    from senet.cli import main

    model = senet.create_model("torchvision:mobilenet_v2", num_classes=3, add_se=True, reduction=8)
    path = senet.save_weights(model, tmp_path / "w.safetensors")
    out = tmp_path / "m.onnx"
    argv = ["export", "torchvision:mobilenet_v2", "--checkpoint", str(path), "--format", "onnx"]
    assert main([*argv, "--out", str(out), "--size", "32", "--num-classes", "3"]) == 0
    import onnxruntime as ort

    x = torch.randn(2, 3, 32, 32)
    got = ort.InferenceSession(str(out)).run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(got), model.eval()(x), rtol=1e-4, atol=1e-4)
    r = senet.bench(
        "torchvision:resnet18,torchvision:resnet18[add_se=1,reduction=8]", size=32, iters=2, warmup=0
    )
    plain, se = (row["params"] for row in r["models"])
    assert se - plain == sum(
        p.params for p in se_points(senet.add_se(torchvision.models.resnet18(), reduction=8))
    )
