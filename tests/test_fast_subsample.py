"""Subsample before the stride (senet.fast.subsample): the same function, rewritten where it applies only."""

import io
from dataclasses import replace

import pytest
import torch
import torchvision
from torch import nn

import senet
from bn_stats import randomize_bn
from senet.errors import SenetError
from senet.fast import optimize_for_inference, squeeze_before_last_conv, subsample_before_stride
from senet.fast.subsample import Subsample
from senet.layers import SEConfig
from senet.models.resnet import SPECS, ResNet, ResNetSpec


def _rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def _strides(model):
    return {n: m.stride for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def _parity(model, sizes, expected, early=False):
    """float64: the rewrite is exact algebra, so only round-off (~1e-15 of the logits) may differ."""
    model = randomize_bn(model).eval().double()
    source = squeeze_before_last_conv(model)[0] if early else model
    strides, keys = _strides(source), sorted(source.state_dict())
    fast, n = subsample_before_stride(source)
    assert n == expected and fast is not source and not fast.training
    assert _strides(source) == strides, "the original is left as it was"
    assert not any(isinstance(m, Subsample) for m in source.modules())
    assert sum(isinstance(m, Subsample) for m in fast.modules()) == n
    assert sorted(fast.state_dict()) == keys  # Subsample has no state
    with torch.no_grad():
        for size in sizes:
            x = torch.randn(1, 3, *size, dtype=torch.float64)
            assert _rel(fast(x), model(x)) < 1e-12
    return fast


def test_official_resnet50_and_early_se_resnet50_same_outputs():
    """64 px: even maps at every boundary (16, 8, 4); 72 px: layer2 ends in a 9 x 9 map, read at 5 x 5."""
    model = senet.create_model("resnet50", num_classes=10)
    shapes = []
    model.layer2.register_forward_hook(lambda m, i, o: shapes.append(o.shape[-1]))
    with torch.no_grad():
        model(torch.randn(1, 3, 72, 72))
    assert shapes == [9]
    model.layer2._forward_hooks.clear()
    fast = _parity(model, [(64, 64), (72, 72)], 3)
    assert [fast.layer3[0].conv1.stride, fast.layer3[0].downsample[0].stride] == [(1, 1)] * 2
    assert isinstance(fast.layer1[-1], torch.fx.GraphModule)
    assert not isinstance(fast.layer1[0], torch.fx.GraphModule)
    _parity(senet.create_model("se_resnet50", num_classes=10), [(72, 72)], 3, early=True)


def test_grouped_and_odd_sizes():
    """SE-ResNeXt-50 32x4d with the stride on its first 1x1 (the registered row has it on the 3x3): 36 x 44
    px gives 9 x 11 maps after layer1 and 5 x 6 after layer2."""
    spec = replace(SPECS["resnext50_32x4d"], stride_on="1x1")
    _parity(ResNet(spec, num_classes=10, se=SEConfig()), [(36, 44)], 3, early=True)


def _tiny(**se_options):
    """Official layout (stride on the first 1x1), grouped 3x3s; layer2's one unit both reads a subsampled
    input and ends subsampled."""
    spec = ResNetSpec("bottleneck", (1, 1, 1), (64, 128, 256), (16, 32, 64), groups=4)
    return ResNet(spec, num_classes=10, se=SEConfig(**{"reduction": 4, **se_options}))


@pytest.mark.parametrize("placement", ["identity", "3x3"])
def test_other_placements_whose_end_is_per_position(placement):
    """SE on the shortcut or before conv3 runs at full size; the unit's end does not."""
    _parity(_tiny(placement=placement), [(35, 35)], 2)


def _meta(name, **options):
    with torch.device("meta"):
        return senet.create_model(name, **options)


def _count(model, early=False):
    if early:
        model = squeeze_before_last_conv(model)[0]
    return subsample_before_stride(model)[1]


@pytest.mark.parametrize(
    ("name", "options", "early", "expected"),
    [
        ("resnet50", {}, False, 3),
        ("resnet101", {"drop_path_rate": 0.1}, False, 3),  # stochastic depth: per sample, a no-op in eval
        ("se_resnet50", {}, True, 3),
        ("se_resnet50", {}, False, 0),  # the squeeze reads conv3's output: every position
        ("se_resnet50", {"placement": "post"}, True, 0),  # SE after the addition: the same
        ("se_resnet50", {"placement": "pre"}, True, 0),  # SE on the next unit's input reads all of it
        ("resnet50", {"layout": "torchvision"}, False, 0),  # stride on the 3x3
        ("se_resnet50", {"layout": "torchvision"}, True, 0),
        ("se_resnext50_32x4d", {}, True, 0),  # the official ResNeXt rows stride on the 3x3 too
        ("seresnext26d_32x4d", {}, True, 0),  # ResNet-D: an average pool before the projection
        ("seresnetaa50d", {}, True, 0),  # anti-aliased: average pools
        ("se_resnet18", {}, False, 0),  # basic units
    ],
)
def test_counts(name, options, early, expected):
    assert _count(_meta(name, **options), early) == expected


def test_average_pool_shortcut_with_the_stride_on_the_1x1_is_left():
    """conv1 is 1x1/2 but the projection averages 2 x 2 windows: it reads every position."""
    spec = ResNetSpec("bottleneck", (1, 1), (64, 128), avg_down=True)
    with torch.device("meta"):
        assert _count(ResNet(spec, num_classes=10)) == 0


def test_torchvision_resnet_given_se():
    tv = torchvision.models.resnet.ResNet(torchvision.models.resnet.Bottleneck, [1, 1, 1, 1], num_classes=10)
    se = senet.add_se(tv)
    assert _count(se) == 0 and _count(se, early=True) == 0 and _count(tv) == 0
    x = torch.randn(1, 3, 32, 32)
    fast = subsample_before_stride(squeeze_before_last_conv(randomize_bn(se).eval())[0])[0]
    with torch.no_grad():
        assert _rel(fast(x), se(x)) < 1e-5


class _Tapped(nn.Module):
    """layer1's output read twice: by layer2 and by a side head."""

    def __init__(self, net):
        super().__init__()
        self.stem = nn.Sequential(net.conv1, net.bn1, net.maxpool)
        self.layer1, self.layer2 = net.layer1, net.layer2
        self.side = nn.Conv2d(64, 1, 1)

    def forward(self, x):
        a = self.layer1(self.stem(x))
        return self.layer2(a).mean() + self.side(a).mean()


def test_other_readers_hooks_shared_modules_and_inplace():
    model = _meta("resnet50")
    assert _count(_Tapped(model)) == 0
    model.layer2.register_forward_hook(lambda *_: None)  # sees layer2's output, which is then subsampled
    model.layer4.register_forward_pre_hook(lambda *_: None)  # sees layer4's input, subsampled
    assert _count(model) == 1
    model = _meta("resnet50")
    model.extra = model.layer2[0].conv1  # after the head: not called, but a conv held twice is not changed
    assert _count(model) == 2
    fast, n = subsample_before_stride(model, inplace=True)
    assert fast is model and n == 2 and not model.training
    assert subsample_before_stride(model, inplace=True)[1] == 0  # nothing left to rewrite


def test_inference_only_pickles_and_composes_with_optimize_for_inference():
    model = randomize_bn(_tiny()).eval()
    fast, n = subsample_before_stride(squeeze_before_last_conv(model)[0])
    assert n == 2
    x = torch.randn(2, 3, 40, 40)
    buffer = io.BytesIO()
    torch.save(fast, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    with torch.no_grad():
        expected = model(x)
        assert _rel(loaded(x), expected) < 1e-5
        assert _rel(optimize_for_inference(fast)(x), expected) < 1e-5
    fast.train()
    with pytest.raises(SenetError, match="inference only") as error:
        fast(x)
    assert "\n" not in str(error.value)


def _deploy_parity(net, size, tmp_path):
    """senet.export's ONNX file in ONNX Runtime and OpenVINO's conversion, both of
    senet.fast.rewrite_for_runtimes' copy (early squeeze, then subsampling): logits within 1e-4 of
    PyTorch's; the int8 quantizer's export is of the model as it is."""
    pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("openvino")
    from senet.fast import rewrite_for_runtimes
    from senet.runtimes import openvino
    from senet.runtimes.onnx import export_onnx, ort_runner

    net = randomize_bn(net).eval()
    counts = rewrite_for_runtimes(net)[1]
    assert counts["squeeze_before_last_conv"] > 0 and counts["subsample_before_stride"] > 0
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ref = net(x)
    path = senet.export(net, tmp_path / "m.onnx", size=size)
    slices = [n for n in onnx.load(str(path)).graph.node if n.op_type == "Slice"]
    assert len(slices) == 4 * counts["subsample_before_stride"]  # conv3's input and the shortcut, 2 axes each
    assert _rel(ort_runner(path.read_bytes(), threads=1)(x), ref) <= 1e-4
    assert _rel(openvino.runner(openvino.convert(net, size), threads=1)(x), ref) <= 1e-4
    as_is = str(tmp_path / "as_is.onnx")
    export_onnx(net, x[:1], as_is, rewrite=False)
    assert not [n for n in onnx.load(as_is).graph.node if n.op_type == "Slice"]


def test_onnx_runtime_and_openvino(tmp_path):
    _deploy_parity(_tiny(), 36, tmp_path)


def test_plain_networks_export_without_subsampling():
    """Subsampling is applied only with the early squeeze: OpenVINO already skips those positions in a
    plain ResNet and the explicit slices made it slower; ONNX Runtime ran it as fast (docs/performance.md)."""
    from senet.fast import rewrite_for_runtimes

    _, counts = rewrite_for_runtimes(_meta("resnet50"))
    assert counts == {"squeeze_before_last_conv": 0, "subsample_before_stride": 0}
    assert _count(_meta("resnet50")) == 3  # the rewrite itself applies to it
    _, counts = rewrite_for_runtimes(_meta("se_resnet50"))
    assert counts == {"squeeze_before_last_conv": 16, "subsample_before_stride": 3}
