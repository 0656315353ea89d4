"""Parameter counts and multiply-adds against the paper (PAPER.md sections 4, 5, 7) (every model's golden
numbers: tests/test_golden.py)."""

import pytest
import torch

from senet import complexity, create_model
from senet.models.counting import count_macs, paper_comparison, se_deltas
from senet.models.paper import RELEASED, ROWS, Given
from senet.models.resnet import SE_NAMES

RESNET_ROWS = [r for r in ROWS if r.model in {*SE_NAMES, *SE_NAMES.values()}]
RELEASED_ROWS = [r for r in ROWS if r.params is not None and r.params.kind == RELEASED]


@pytest.mark.parametrize("row", RELEASED_ROWS, ids=lambda r: r.label)
def test_released_models_parameter_counts_are_exact(row):
    assert complexity(row.model, row.input_size, **row.options).params == int(
        row.params.text.replace(",", "")
    )


@pytest.mark.parametrize("row", [r for r in RESNET_ROWS if r.gflops is not None], ids=lambda r: r.label)
def test_gflops_within_half_a_percent_of_the_paper(row):
    ours = complexity(row.model, row.input_size, **row.options).gflops
    assert abs(ours / row.gflops.value - 1) < 0.005, (ours, row.gflops.text)


def test_printed_numbers_compare_at_their_printed_precision():
    assert Given("26.4M").matches(26_343_464) is False  # Table 13's stage 4: 26.34M prints as 26.3M
    assert (
        Given("25.6M").matches(25_581_608) and Given("3.87").matches(3.866) and Given("0.02").matches(0.0197)
    )
    assert Given("28,088,024").matches(28_088_024) and not Given("28,088,024").matches(28_088_025)
    assert Given("35.7M").decimals == 1 and Given("0.140").decimals == 3


def test_the_printed_mismatches_are_the_documented_ones():
    """Every row compared at printed precision: what does not match is exactly what docs/models.md lists."""
    rows = paper_comparison()
    params = {r["label"] for r in rows if r["params_match"] is False}
    gflops = {r["label"] for r in rows if r["gflops_match"] is False}
    assert params == {
        "SE-ResNet-50 r=4", "SE-ResNet-50 r=8", "SE-ResNet-50 r=32", "SE stage 4 only", "SE_3x3",
        "ShuffleNet 1x (g=3)", "SE-ShuffleNet 1x (g=3)",
    }  # fmt: skip
    assert all(r["params_match"] for r in rows if r["params_given_as"] == RELEASED)  # released: exact
    assert {"Inception-ResNet-v2 (299)", "SE-Inception-ResNet-v2 (299)", "SE-BN-Inception"} <= gflops
    assert not any(r["paper_gflops"] for r in rows if r["model"] == "senet154")  # not printed: not claimed


def test_se_minus_plain_deltas_match_the_paper_with_one_operation_per_element():
    deltas = se_deltas()
    assert [d["match"] for d in deltas] == [True] * 5, deltas
    by = {d["se"]: d["delta_gflops"] for d in deltas}
    assert round(by["se_resnet152"], 3) == 0.020 and round(by["se_mobilenet"] * 1000, 1) == 3.2


def test_counting_matches_a_hand_count():
    """A 3x3 conv 3->8 at 8x8 (stride 1, pad 1) = 8*8*8*3*9 MACs, plus a linear 8->2 = 16."""
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 2),
    )
    assert count_macs(model, 8, in_chans=3) == 8 * 8 * 8 * 3 * 9 + 16


def test_meta_and_real_models_count_the_same():
    real = create_model("se_resnet20_cifar")
    assert complexity(real) == complexity("se_resnet20_cifar")
