"""The demo: mean and spread over seeds, an honest verdict, a report whose first screen is the comparison."""

import csv
import re
import shutil
import subprocess

import pytest

import senet
from senet.analysis import plots
from senet.analysis.demo import MODELS, compare, format_table
from senet.core.io import write_json

CHROMIUM = next(
    (shutil.which(c) for c in ("chromium", "chromium-browser", "google-chrome") if shutil.which(c)), None
)


def _row(model, errors):
    n = len(errors)
    mean = sum(errors) / n
    std = (sum((e - mean) ** 2 for e in errors) / (n - 1)) ** 0.5
    return {"model": model, "top1_errors": errors, "top1_mean": mean, "top1_std": std, "top5_mean": 0.0,
            "params": 272_095, "gflops": 0.0407, "train_time_s": 60.0, "runs": []}  # fmt: skip


def test_the_verdict_says_whether_the_difference_exceeds_the_spread():
    close = compare(_row("se", [0.67, 1.11, 0.89]), _row("plain", [0.44, 1.33, 0.89]))
    assert not close["exceeds_spread"] and "do not tell the two models apart" in close["verdict"]
    far = compare(_row("se", [0.44, 0.45, 0.46]), _row("plain", [2.0, 2.1, 2.2]))
    assert far["exceeds_spread"] and "SE is better" in far["verdict"]
    assert far["difference"] == pytest.approx(0.45 - 2.1)


def test_format_table_shows_mean_spread_each_seed_and_the_verdict():
    result = {"seeds": [0, 1, 2], "models": [_row(m, [1.1, 0.9, 1.0]) for m in MODELS]}
    result["comparison"] = compare(*result["models"])
    text = format_table(result)
    assert "mean +- std, 3 seeds" in text and "1.00% +- 0.10" in text and "1.10, 0.90, 1.00" in text
    assert "SE minus plain: +0.00 points" in text and "do not tell the two models apart" in text


@pytest.fixture
def demo_dir(tmp_path):
    """A finished demo's files (metrics per seed, demo.json), without training: the report's input."""
    for m, base in zip(MODELS, (5.0, 8.0)):
        for s in range(3):
            d = tmp_path / m / f"seed{s}"
            d.mkdir(parents=True)
            with open(d / "metrics.csv", "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["epoch", "train_loss", "val_top1_error"])
                w.writerows([[e, 2.0 / e, base / e + s] for e in range(1, 5)])
    rows = [_row(MODELS[0], [1.1, 1.3, 0.9]), _row(MODELS[1], [1.6, 1.4, 1.5])]
    write_json(
        {"data": "digits", "seeds": [0, 1, 2], "models": rows, "comparison": compare(*rows)},
        tmp_path / "demo.json",
    )
    plots.demo_curves(tmp_path, MODELS, [0, 1, 2], tmp_path / "comparison.png")
    return tmp_path


def test_the_report_opens_with_the_comparison(demo_dir):
    page = senet.report(demo_dir).read_text()
    body = page[page.index("<body>") :]
    first = re.findall(r"<(h1|h2|table|img|details)\b", body)
    assert first[:4] == ["h1", "h2", "table", "img"]  # title, then the comparison table and the curves
    assert "mean +- std, 3 seeds" in page and "SE minus plain" in page


@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed (apt-get install chromium)")
def test_the_first_screen_shows_the_table_and_the_curves(demo_dir, tmp_path):
    import matplotlib.image as mpimg

    senet.report(demo_dir)
    url = (demo_dir / "report.html").resolve().as_uri()
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,900"]  # fmt: skip
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert "<table" in dom and "data:image/png;base64" in dom
    shot = tmp_path / "first_screen.png"
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    pixels = mpimg.imread(shot)[..., :3]
    blue = (pixels[..., 2] > 0.6) & (pixels[..., 0] < 0.35)  # matplotlib's first line colour (C0)
    orange = (
        (pixels[..., 0] > 0.9) & (pixels[..., 1] > 0.4) & (pixels[..., 1] < 0.65) & (pixels[..., 2] < 0.2)
    )
    assert blue.sum() > 50 and orange.sum() > 50  # both models' curves painted within 1280 x 900


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    from senet.cli import main

    assert main(["demo", "--out", str(tmp_path), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "mean +- std, 3 seeds" in text and "SE minus plain" in text
    result = senet.analysis.demo.load(tmp_path)
    assert result["models"][0]["top1_mean"] <= 5.0 and (tmp_path / "report.html").exists()
