"""The SE fast paths compute what the plain path computes: outputs and gradients, both memory formats."""

import copy
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import senet
from senet.fast import fold_conv_bn, optimize_for_inference
from senet.layers import SqueezeExcitation
from senet.models._se import SEConfig
from senet.models.resnet import ResNet, ResNetSpec

FORMATS = [torch.contiguous_format, torch.channels_last]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _close(a, b, rtol=1e-5):
    # float32 round-off, relative to the output's scale: addcmul rounds once where mul + add round twice.
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * max(1.0, b.abs().max().item()))


def _randomize_bn(model):
    """Non-trivial BN statistics, so folding BN is really tested (fresh BNs are the identity).

    Each BN's gain weight / sqrt(var) stays within (0.35, 1): with gains up to 2, a random 150-layer net
    is so ill-conditioned that a relative input change of 1e-15 moves its float64 logits by 2%, and no
    parity test can tell round-off from a bug. Here both stay near 1e-15 for every model.
    """
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 1.0)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) * 0.5 + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)
    return model


def _tiny(block: str, fmt=torch.contiguous_format, dtype=torch.float32):
    """A two-stage SE ResNet (basic) or SE ResNeXt (bottleneck): every block path, in milliseconds."""
    if block == "basic":
        spec = ResNetSpec("basic", (1, 2), (16, 32), stem="cifar", stem_width=16, shortcut="pad")
    else:
        spec = ResNetSpec("bottleneck", (1, 2), (64, 128), (32, 64), groups=8, stride_on="3x3")
    model = ResNet(spec, num_classes=10, se=SEConfig(reduction=4))
    return _randomize_bn(model).to(dtype=dtype, memory_format=fmt)


def _observe(model):
    """A no-op hook on every SE block: the residual blocks then take the plain, unfused path."""
    for m in model.modules():
        if isinstance(m, SqueezeExcitation):
            m.register_forward_hook(lambda *a: None)
    return model


@pytest.mark.parametrize("fmt", FORMATS)
def test_fused_step_matches_plain_with_gradients(fmt):
    se = SqueezeExcitation(32, 4)
    x = torch.randn(2, 32, 6, 5).contiguous(memory_format=fmt).requires_grad_()
    sc = torch.randn(2, 32, 6, 5).contiguous(memory_format=fmt).requires_grad_()
    fused = se.scale_add_relu(x, sc)
    plain = torch.relu(se(x) + sc)
    _close(fused, plain)
    assert fused.is_contiguous(memory_format=fmt)
    gy = torch.randn_like(plain)
    inputs = (x, sc, *se.parameters())
    for a, b in zip(torch.autograd.grad(fused, inputs, gy), torch.autograd.grad(plain, inputs, gy)):
        _close(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_se_resnet_fused_equals_unfused_train_and_eval(block, fmt):
    # float64 for training: train-mode BN on tiny batches amplifies round-off in the first layers'
    # gradients; in float64 any real difference between the paths would still show.
    fused = _tiny(block, fmt, torch.float64)
    plain = _observe(copy.deepcopy(fused))
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64).contiguous(memory_format=fmt)
    out_f, out_p = fused(x), plain(x)  # train mode: batch statistics, autograd on
    _close(out_f, out_p)
    out_f.square().sum().backward()
    out_p.square().sum().backward()
    for a, b in zip(fused.parameters(), plain.parameters()):
        _close(a.grad, b.grad)
    fused.eval().float(), plain.eval().float()
    x = x.float()
    with torch.inference_mode():  # the in-place inference path, float32
        _close(fused(x), plain(x))
        assert fused.forward_features(x).is_contiguous(memory_format=fmt)


def test_inference_path_leaves_input_untouched():
    model = _tiny("basic").eval()
    x = torch.randn(1, 3, 32, 32)
    x0 = x.clone()
    with torch.no_grad():
        a = model(x)
    _close(a, model(x).detach())  # grad-enabled path, out of place
    assert torch.equal(x, x0)


# One model per family that builds and runs quickly (pre-activation nets, whose conv outputs feed the
# shortcut too, included); the slow test covers the whole registry.
_QUICK = [
    "se_resnet50",
    "resnet50",
    "se_resnet20_cifar",
    "se_resnet164_cifar",
    "se_wrn16_8",
    "se_mobilenet",
    "se_shufflenet_g3",
    "se_bn_inception",
]


@pytest.mark.parametrize("name", [n for n in _QUICK if n in senet.list_models()])
def test_optimize_for_inference_same_outputs(name):
    _check_optimized(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", senet.list_models())
def test_optimize_for_inference_every_model(name):
    _check_optimized(name)


def _check_optimized(name):
    # float64, so that the tolerance (1e-9 of the logits' scale) sits far below any folding mistake and
    # far above round-off, for every model.
    info = senet.model_info(name)
    model = _randomize_bn(senet.create_model(name)).eval().double()
    size = max(info.min_input_size, 16)
    x = torch.randn(2, info.input_size[0], size, size, dtype=torch.float64)
    fast = optimize_for_inference(model)
    assert not fast.training and all(not p.requires_grad for p in fast.parameters())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules()), "the original must be untouched"
    with torch.no_grad():
        _close(fast(x), model(x), rtol=1e-9)
    if info.family in ("resnet", "resnet_cifar"):
        assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules()), "every BN folds in a ResNet"


@pytest.mark.parametrize("fmt", FORMATS)
def test_optimize_for_inference_float32(fmt):
    model = _randomize_bn(senet.create_model("se_resnet50")).eval().to(memory_format=fmt)
    x = torch.randn(1, 3, 32, 32).contiguous(memory_format=fmt)
    with torch.no_grad():
        _close(optimize_for_inference(model)(x), model(x))


class _PreAct(nn.Module):
    """conv output feeds both BN and the shortcut (pre-activation nets): that BN must not fold."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.conv2, self.bn2 = (
            nn.Conv2d(3, 8, 3),
            nn.BatchNorm2d(8),
            nn.Conv2d(8, 8, 1),
            None,
        )
        self.bn2 = nn.BatchNorm2d(8)

    def forward(self, x):
        x = self.conv(x)
        return x + self.bn(x) + self.bn2(self.conv2(x))


def test_fold_skips_convs_whose_output_is_reused():
    model = _randomize_bn(_PreAct()).eval()
    x = torch.randn(2, 3, 9, 9)
    expected = model(x)
    assert fold_conv_bn(model) == 1  # conv2 -> bn2 only
    assert isinstance(model.bn, nn.BatchNorm2d) and isinstance(model.bn2, nn.Identity)
    _close(model(x), expected)


def test_no_graph_breaks_under_torch_compile():
    from torch._dynamo import explain, reset

    reset()
    model = _tiny("bottleneck", torch.channels_last)
    x = torch.randn(2, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    assert explain(model)(x).graph_break_count == 0  # training path
    with torch.no_grad():
        assert explain(model.eval())(x).graph_break_count == 0  # in-place inference path
    reset()


def test_cpu_path_does_not_import_triton():
    code = (
        "import sys, torch, senet\n"
        "m = senet.create_model('se_resnet20_cifar')\n"
        "m(torch.randn(1, 3, 32, 32)).sum().backward()\n"
        "assert 'triton' not in sys.modules, 'triton was imported'\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


_KERNEL_CHECK = """
import torch
from senet.kernels import _triton as T
for fmt in (torch.contiguous_format, torch.channels_last):
    for shape in [(2, 48, 5, 7), (1, 70, 3, 3), (3, 8, 1, 1)]:
        x = torch.randn(shape).contiguous(memory_format=fmt).requires_grad_()
        sc = torch.randn(shape).contiguous(memory_format=fmt).requires_grad_()
        s = torch.rand(shape[0], shape[1], 1, 1, requires_grad=True)
        assert T.supports(x, s, sc)
        y, ref = T.ScaleAddReLU.apply(x, s, sc), torch.relu(x * s + sc)
        torch.testing.assert_close(y, ref)
        assert y.is_contiguous(memory_format=fmt)
        gy = torch.randn_like(y)
        for a, b in zip(torch.autograd.grad(y, (x, s, sc), gy), torch.autograd.grad(ref, (x, s, sc), gy)):
            torch.testing.assert_close(a, b)
        p = T.GlobalAvgPool.apply(x)
        torch.testing.assert_close(p, x.mean((2, 3), keepdim=True))
        ga = torch.autograd.grad(p.sum(), x)[0]
        torch.testing.assert_close(ga, torch.autograd.grad(x.mean((2, 3)).sum(), x)[0])
        x2 = x.detach().clone()
        T.scale_add_relu(x2, s.detach(), sc.detach(), out=x2)
        torch.testing.assert_close(x2, ref.detach())
print("kernels ok")
"""


@pytest.mark.slow
def test_triton_kernels_in_the_interpreter():
    """The Triton kernels' logic, run on CPU by Triton's interpreter (no GPU needed)."""
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _KERNEL_CHECK], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "kernels ok" in out.stdout, out.stderr[-3000:]


@CUDA
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_kernels_match_pytorch(fmt, dtype):
    from senet import kernels

    assert kernels.triton_available(), "CUDA is here, so the Triton path should be too"
    x = torch.randn(4, 64, 14, 14, device="cuda", dtype=dtype).contiguous(memory_format=fmt).requires_grad_()
    sc = torch.randn_like(x).requires_grad_()
    s = torch.rand(4, 64, 1, 1, device="cuda", dtype=dtype, requires_grad=True)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1.6e-2, atol=1e-2)
    torch.testing.assert_close(kernels.global_avg_pool(x), x.mean((2, 3), keepdim=True), **tol)
    y, ref = kernels.scale_add_relu(x, s, sc), torch.addcmul(sc, x, s).relu()
    torch.testing.assert_close(y, ref, **tol)
    assert y.is_contiguous(memory_format=fmt)
    gy = torch.randn_like(y)
    for a, b in zip(torch.autograd.grad(y, (x, s, sc), gy), torch.autograd.grad(ref, (x, s, sc), gy)):
        torch.testing.assert_close(a, b, **tol)


@pytest.fixture
def no_tf32():
    """float32 parity needs float32 convolutions: cuDNN's default TF32 rounds products to 10 bits, and
    folding BN into the weights (optimize_for_inference) then changes the logits by ~1e-3, not round-off."""
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = before


@CUDA
def test_cuda_model_parity_and_cuda_graph(no_tf32):
    model = _randomize_bn(senet.create_model("se_resnet50")).cuda().eval()
    plain = _observe(copy.deepcopy(model))
    x = torch.randn(2, 3, 64, 64, device="cuda")
    with torch.no_grad():
        _close(model(x), plain(x))
        _close(optimize_for_inference(model)(x), plain(x))
        graph, static_x = torch.cuda.CUDAGraph(), x.clone()
        model(static_x)  # warm up on the capture stream's allocator
        with torch.cuda.graph(graph):
            static_y = model(static_x)
        static_x.copy_(torch.randn_like(x))
        graph.replay()
        _close(static_y, plain(static_x))


def test_a_hooked_se_under_no_grad_records_its_own_output():
    """The unfused path must not add the shortcut into the tensor an SE hook holds."""
    model = _tiny("bottleneck").eval()
    block = model.layer1[0]
    seen = []
    block.se.register_forward_hook(lambda m, i, o: seen.append((o, o.clone())))
    with torch.no_grad():
        model(torch.randn(1, 3, 16, 16))
    held, copy_at_call = seen[0]
    assert torch.equal(held, copy_at_call)


def test_backward_hooks_on_se_fire():
    model = _tiny("basic").train()
    fired = []
    model.layer1[0].se.register_full_backward_hook(lambda *a: fired.append(1))
    model(torch.randn(2, 3, 16, 16)).sum().backward()
    assert fired
