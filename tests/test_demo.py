"""The demo: the table, and (slow) the full run reaching <= 5% test error with SE on digits."""

import pytest

from senet.demo import format_table


def test_format_table_has_the_columns():
    rows = [
        {"model": m, "top1_error": e, "top5_error": 0.0, "params": p, "gflops": 0.041, "train_time_s": 60.0}
        for m, e, p in (("se_resnet20_cifar", 1.1, 274442), ("resnet20_cifar", 1.5, 272474))
    ]
    text = format_table(rows)
    assert "test error" in text and "GFLOPs" in text and "train time" in text
    assert "274,442" in text and "1.10%" in text


@pytest.mark.slow
def test_demo_se_model_reaches_5_percent_on_digits(tmp_path, capsys):
    from senet.cli import main

    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "se_resnet20_cifar" in text and "resnet20_cifar" in text
    import json

    se = json.loads((tmp_path / "se_resnet20_cifar" / "summary.json").read_text())
    assert se["top1_error"] <= 5.0
