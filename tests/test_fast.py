"""The SE fast paths compute what the plain path computes: outputs and gradients, both memory formats."""

import copy
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

import senet
from bn_stats import randomize_bn
from senet.fast import fold_conv_bn, fuse_residual_steps, kernels, optimize_for_inference
from senet.fast.fuse import se_scale_add_relu
from senet.layers import SEConfig, SqueezeExcitation
from senet.models.resnet import ResNet, ResNetSpec
from zoo_sizes import huge_models

FORMATS = [torch.contiguous_format, torch.channels_last]
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _close(a, b, rtol=1e-5):
    # float32 round-off, relative to the output's scale: addcmul rounds once where mul + add round twice.
    torch.testing.assert_close(a, b, rtol=rtol, atol=rtol * max(1.0, b.abs().max().item()))


def _tiny(block: str, fmt=torch.contiguous_format, dtype=torch.float32):
    """A two-stage SE ResNet (basic) or SE ResNeXt (bottleneck): every block path, in milliseconds."""
    if block == "basic":
        spec = ResNetSpec("basic", (1, 2), (16, 32), stem="cifar", stem_width=16, shortcut="pad")
    else:
        spec = ResNetSpec("bottleneck", (1, 2), (64, 128), (32, 64), groups=8, stride_on="3x3")
    model = ResNet(spec, num_classes=10, se=SEConfig(reduction=4))
    return randomize_bn(model).to(dtype=dtype, memory_format=fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fused_step_matches_plain_with_gradients(fmt):
    se = SqueezeExcitation(32, 4)
    x = torch.randn(2, 32, 6, 5).contiguous(memory_format=fmt).requires_grad_()
    sc = torch.randn(2, 32, 6, 5).contiguous(memory_format=fmt).requires_grad_()
    fused = se_scale_add_relu(se, x, sc)
    plain = torch.relu(se(x) + sc)
    _close(fused, plain)
    assert fused.is_contiguous(memory_format=fmt)
    gy = torch.randn_like(plain)
    inputs = (x, sc, *se.parameters())
    for a, b in zip(torch.autograd.grad(fused, inputs, gy), torch.autograd.grad(plain, inputs, gy)):
        _close(a, b)


def _units(model):
    return [u for stage in (model.layer1, model.layer2) for u in stage]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("block", ["basic", "bottleneck"])
def test_fused_units_equal_the_plain_forward_train_and_eval(block, fmt):
    # float64 for training: train-mode BN on tiny batches amplifies round-off in the first layers'
    # gradients; in float64 any real difference between the paths would still show.
    plain = _tiny(block, fmt, torch.float64)
    fused = copy.deepcopy(plain)
    assert fuse_residual_steps(fused) == len(_units(plain))  # every SE unit rewritten
    assert all(isinstance(u, torch.fx.GraphModule) for u in _units(fused))
    assert sorted(fused.state_dict()) == sorted(plain.state_dict())  # the same keys
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64).contiguous(memory_format=fmt)
    out_f, out_p = fused(x), plain(x)  # train mode: batch statistics, autograd on
    _close(out_f, out_p)
    out_f.square().sum().backward()
    out_p.square().sum().backward()
    grads = {n: p.grad for n, p in fused.named_parameters()}
    for n, p in plain.named_parameters():
        _close(grads[n], p.grad)
    fused.eval().float(), plain.eval().float()
    x = x.float()
    with torch.inference_mode():  # the in-place inference path, float32
        _close(fused(x), plain(x))
        assert fused.forward_features(x).is_contiguous(memory_format=fmt)


def test_plain_units_add_in_place_and_se_units_fuse_in_a_retrofitted_torchvision_resnet():
    import torchvision

    plain = randomize_bn(torchvision.models.resnet18(num_classes=10)).eval()
    se = senet.add_se(copy.deepcopy(plain), reduction=4).eval()
    x = torch.randn(2, 3, 32, 32)
    for model in (plain, se):
        fast = copy.deepcopy(model)
        assert fuse_residual_steps(fast) == 8  # every BasicBlock
        with torch.no_grad():
            _close(fast(x), model(x))
    code = next(m for m in fast.modules() if isinstance(m, torch.fx.GraphModule)).code
    assert "se_scale_add_relu" in code


def test_inference_path_leaves_input_untouched():
    model = optimize_for_inference(_tiny("basic"))
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
@pytest.mark.parametrize("name", sorted(set(senet.list_models()) - huge_models()))
def test_optimize_for_inference_every_model(name):
    """Every model but the 800M-parameter ones (13 GB in float64 twice; their units are ResNeXt's)."""
    _check_optimized(name)


def _check_optimized(name):
    # float64, so that the tolerance (1e-9 of the logits' scale) sits far below any folding mistake and
    # far above round-off, for every model.
    info = senet.model_info(name)
    model = randomize_bn(senet.create_model(name)).eval().double()
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
    model = randomize_bn(senet.create_model("se_resnet50")).eval().to(memory_format=fmt)
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
    model = randomize_bn(_PreAct()).eval()
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
    assert explain(model)(x).graph_break_count == 0  # the plain forward, training
    fast = optimize_for_inference(model)
    with torch.no_grad():
        assert explain(fast)(x).graph_break_count == 0  # the fused units, in-place inference path
    reset()


def test_triton_is_opt_in_and_cpu_code_never_imports_it():
    code = (
        "import sys, torch, senet\n"
        "m = senet.optimize_for_inference(senet.create_model('se_resnet20_cifar'))\n"
        "m(torch.randn(1, 3, 32, 32))\n"
        "assert 'triton' not in sys.modules, 'triton was imported'\n"
        "from senet.fast import kernels\n"
        "assert not kernels.triton_enabled()\n"
    )
    for env in ({"CUDA_VISIBLE_DEVICES": ""}, {"CUDA_VISIBLE_DEVICES": "", "SENET_TRITON": "1"}):
        subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env}, timeout=120)
    os.environ.pop("SENET_TRITON", None)
    kernels.triton_enabled.cache_clear()
    assert not kernels.triton_enabled()  # off unless SENET_TRITON=1


_KERNEL_CHECK = """
import torch
from senet.fast import _triton as T
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
        x2 = x.detach().clone()
        T.scale_add_relu(x2, s.detach(), sc.detach(), out=x2)
        torch.testing.assert_close(x2, ref.detach())
print("kernels ok")
"""


@pytest.mark.slow
def test_triton_kernels_in_the_interpreter():
    """The Triton kernel's logic, run on CPU by Triton's interpreter (no GPU needed)."""
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _KERNEL_CHECK], env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "kernels ok" in out.stdout, out.stderr[-3000:]


@pytest.fixture
def triton_on(monkeypatch):
    monkeypatch.setenv("SENET_TRITON", "1")
    kernels.triton_enabled.cache_clear()
    assert kernels.triton_enabled(), "CUDA is here, so SENET_TRITON=1 should enable the Triton path"
    yield
    monkeypatch.delenv("SENET_TRITON")
    kernels.triton_enabled.cache_clear()


@CUDA
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_kernel_matches_pytorch(fmt, dtype, triton_on):
    x = torch.randn(4, 64, 14, 14, device="cuda", dtype=dtype).contiguous(memory_format=fmt).requires_grad_()
    sc = torch.randn_like(x).requires_grad_()
    s = torch.rand(4, 64, 1, 1, device="cuda", dtype=dtype, requires_grad=True)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1.6e-2, atol=1e-2)
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
def test_cuda_model_parity_and_cuda_graph(no_tf32, triton_on):
    model = randomize_bn(senet.create_model("se_resnet50")).cuda().eval()
    fast = optimize_for_inference(model)
    x = torch.randn(2, 3, 64, 64, device="cuda")
    with torch.no_grad():
        _close(fast(x), model(x))
        graph, static_x = torch.cuda.CUDAGraph(), x.clone()
        fast(static_x)  # warm up (compiles the Triton kernel) before capture
        with torch.cuda.graph(graph):
            static_y = fast(static_x)
        static_x.copy_(torch.randn_like(x))
        graph.replay()
        _close(static_y, model(static_x))


def test_hooks_on_se_see_the_plain_forward():
    """The default forward calls each SE module: forward hooks record its output untouched, backward hooks
    fire (the analyses of Sec. 7.2 rely on this)."""
    model = _tiny("bottleneck")
    block = model.layer1[0]
    seen, fired = [], []
    block.se.register_forward_hook(lambda m, i, o: seen.append((o, o.clone())))
    block.se.register_full_backward_hook(lambda *a: fired.append(1))
    model(torch.randn(2, 3, 16, 16)).sum().backward()
    held, copy_at_call = seen[0]
    assert torch.equal(held, copy_at_call) and fired
