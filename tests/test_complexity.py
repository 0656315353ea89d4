"""Parameter counts and multiply-adds against the paper (PAPER.md sections 4, 5, 7) (every model's golden
numbers: tests/test_golden.py)."""

import pytest
import torch

from senet import complexity, create_model
from senet.counting import count_macs, paper_comparison
from senet.models.resnet import SE_NAMES
from senet.paper import ROWS

RESNET_ROWS = [r for r in ROWS if r.model in {*SE_NAMES, *SE_NAMES.values()}]


@pytest.mark.parametrize("row", [r for r in ROWS if r.params is not None and r.exact], ids=lambda r: r.label)
def test_exact_parameter_counts_match_the_paper(row):
    assert complexity(row.model, row.input_size, **row.options).params == row.params


@pytest.mark.parametrize("row", [r for r in RESNET_ROWS if r.gflops is not None], ids=lambda r: r.label)
def test_gflops_within_half_a_percent_of_the_paper(row):
    ours = complexity(row.model, row.input_size, **row.options).gflops
    assert abs(ours / row.gflops - 1) < 0.005, (ours, row.gflops)


def test_paper_comparison_reports_every_row():
    rows = paper_comparison(RESNET_ROWS)
    assert len(rows) == len(RESNET_ROWS)
    assert all(r["params_match"] in (True, None) for r in rows if not isinstance(r["paper_params"], str))


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
