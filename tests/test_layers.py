import pytest
import torch

from senet import SenetError, SqueezeExcitation


@pytest.mark.parametrize("channels,r", [(64, 16), (256, 16), (256, 2), (2048, 32), (16, 16)])
@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_is_the_papers_formula(channels, r, bias):
    se = SqueezeExcitation(channels, r, bias=bias)
    expected = 2 * channels * channels // r + ((channels // r + channels) if bias else 0)
    assert sum(p.numel() for p in se.parameters()) == expected


@pytest.mark.parametrize("squeeze", ["avg", "max", "none"])
def test_gate_shape_and_scale(squeeze):
    se = SqueezeExcitation(32, 4, squeeze=squeeze)
    x = torch.randn(2, 32, 5, 7)
    s = se.gate(x)
    assert s.shape == ((2, 32, 5, 7) if squeeze == "none" else (2, 32, 1, 1))
    torch.testing.assert_close(se(x), x * s)


def test_squeeze_operators_differ_as_defined():
    se = SqueezeExcitation(8, 2)
    x = torch.randn(3, 8, 4, 4)
    torch.testing.assert_close(se.pool(x), x.mean((2, 3), keepdim=True))
    se.squeeze = "max"
    torch.testing.assert_close(se.pool(x), x.amax((2, 3), keepdim=True))


@pytest.mark.parametrize("excitation,lo,hi", [("sigmoid", 0, 1), ("tanh", -1, 1), ("relu", 0, float("inf"))])
def test_excitation_range(excitation, lo, hi):
    se = SqueezeExcitation(16, 4, excitation=excitation)
    s = se.gate(torch.randn(8, 16, 3, 3) * 10)
    assert s.min() >= lo and s.max() <= hi


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(squeeze="median"), "squeeze='median' is not allowed; choose one of 'avg', 'max', 'none'"),
        (dict(excitation="gelu"), "excitation='gelu'"),
        (dict(reduction=0), "reduction must be a positive integer"),
        (dict(reduction=5), "reduction=5 does not fit 64 channels"),
        (dict(reduction=128), "reduction=128 does not fit 64 channels"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, match):
    with pytest.raises(SenetError, match=match.replace("(", r"\(").replace(")", r"\)")):
        SqueezeExcitation(64, **{"reduction": 16, **kwargs})
