"""`senet report`: one self-contained HTML page per run / study / analysis directory."""

import csv
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import senet
from senet import SenetError
from senet.analysis import report as rep
from senet.cli import main

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


class Page(HTMLParser):
    """Counts what a browser would fetch or show: tables, images (and their sources), scripts, links."""

    def __init__(self):
        super().__init__()
        self.tags: dict[str, int] = {}
        self.srcs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.srcs += [v for k, v in attrs if k in ("src", "href")]


def parse(text: str) -> Page:
    p = Page()
    p.feed(text)
    return p


def _png(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [3, 1, 2], color="tab:red", lw=4)
    fig.savefig(path, dpi=60)
    plt.close(fig)


@pytest.fixture
def run_dir(tmp_path):
    """A directory shaped like the engine's run directory."""
    d = tmp_path / "run"
    d.mkdir()
    (d / "summary.json").write_text(
        json.dumps({"model": "se_resnet20_cifar", "top1_error": 12.5, "top5_error": 1.0})
    )
    (d / "config.json").write_text(json.dumps({"epochs": 1, "lr": 0.1}))
    with open(d / "metrics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["epoch", "train_loss", "top1_error"])
        w.writerows([[1, 2.3, 40.0], [2, 1.1, 12.5]])
    _png(d / "curves.png")
    return d


def test_run_page_is_self_contained(run_dir):
    path = senet.report(run_dir)
    text = path.read_text()
    page = parse(text)
    assert path == run_dir / "report.html" and rep.kind_of(run_dir) == "run"
    assert page.tags["table"] == 3 and page.tags["img"] == 1 and "script" not in page.tags
    assert all(s.startswith("data:image/png;base64,") for s in page.srcs)  # nothing to fetch
    assert "<td>12.5</td>" in text and "<td>train_loss</td>" not in text and "<th>train_loss</th>" in text


def test_markdown_tables_headings_and_escaping():
    html = rep.markdown("# Table 13\n\nnote `a<b>`\n\n| variant | top-1 |\n|---|---:|\n| SE_2 | 1.5 |\n")
    assert "<h1>Table 13</h1>" in html and "<code>a&lt;b&gt;</code>" in html
    assert "<th>variant</th>" in html and "<td>SE_2</td><td>1.5</td>" in html and "---" not in html


def test_study_page_has_tables_figures_and_variant_runs(tmp_path, run_dir):
    study = tmp_path / "study"
    study.mkdir()
    (study / "table_16.md").write_text("# Table 16\n\n| variant | top-1 error |\n|---|---|\n| SE | 3.0 |\n")
    (study / "table_16.csv").write_text("variant,top1_error\nSE,3.0\n")
    _png(study / "table_16.png")
    shutil.copytree(run_dir, study / "runs" / "se_resnet20_cifar")
    assert rep.kind_of(study) == "study"
    out = tmp_path / "page.html"
    assert main(["report", str(study), "--out", str(out), "--title", "T16"]) == 0
    text = out.read_text()
    page = parse(text)
    # table_16.md wins over its .csv twin (1 table); the variant's run adds 3 tables and its curves
    assert page.tags["img"] == 2 and page.tags["table"] == 4 and page.tags["details"] == 1
    assert "<summary>run: runs/se_resnet20_cifar</summary>" in text and "<title>T16</title>" in text


def test_bad_directories_fail_with_one_line(tmp_path, capsys):
    with pytest.raises(SenetError, match="nothing to show"):
        senet.report(tmp_path)
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(run_dir, tmp_path):
    """The documented check of docs/studies.md: the DOM has the tables and images, the screenshot the figure."""
    senet.report(run_dir)
    url = (run_dir / "report.html").resolve().as_uri()
    flags = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,1400",
    ]
    dom = subprocess.run([*flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    page = parse(dom)
    assert page.tags.get("table") == 3 and page.tags.get("img") == 1
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", url], capture_output=True, timeout=120, check=True)
    import matplotlib.image as mpimg

    pixels = mpimg.imread(shot)[..., :3]
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.35) & (pixels[..., 2] < 0.35)
    assert red.sum() > 50  # the inlined figure's red line was decoded and painted
