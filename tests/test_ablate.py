"""The ablation runner (Tables 10-16) on the built-in digits data with a CIFAR SE-ResNet."""

import csv
import json
import re

import pytest

import senet
from senet import SenetError
from senet.analysis import ablate as ab
from senet.analysis import tables as T
from senet.cli import main

MODEL = "se_resnet20_cifar"
FAST = [
    "--epochs",
    "1",
    "--max-batches",
    "2",
    "--batch-size",
    "16",
    "--workers",
    "0",
    "--device",
    "cpu",
    "--no-progress",
    "--no-tensorboard",
]
FAST_KW = dict(
    epochs=1, max_batches=2, batch_size=16, workers=0, device="cpu", progress=False, tensorboard=False
)


def digits_study(tmp_path_factory):
    """The shared study directory (test_excitations reuses its trained SE variant as a checkpoint)."""
    return tmp_path_factory.getbasetemp() / "digits_study"


# Its tests are in xdist_group 'ablate-table16': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def table16(tmp_path_factory):
    out = digits_study(tmp_path_factory)
    assert (
        main(["ablate", "--table", "16", "--model", MODEL, "--data", "digits", "--out", str(out), *FAST]) == 0
    )
    return out


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.xdist_group("ablate-table16")
def test_table_16_has_its_variants_numbers_and_plot(table16):
    rows = _csv(table16 / "table_16.csv")
    assert [r["variant"] for r in rows] == ["plain", "NoSqueeze", "SE"]
    assert [r["model"] for r in rows] == ["resnet20_cifar", MODEL, MODEL]
    for r in rows:
        assert r["status"] == "finished" and 0 <= float(r["top1_error"]) <= 100
        assert 0 <= float(r["top5_error"]) <= float(r["top1_error"])
        assert (
            int(r["params"])
            == senet.complexity(r["model"], num_classes=10, **json.loads(r["options"])).params
        )
        assert r["paper_top1_error"] == ""  # the paper's numbers are for se_resnet50 only
    summary = json.loads((table16 / rows[2]["run_dir"] / "summary.json").read_text())
    assert float(rows[2]["top1_error"]) == round(summary["top1_error"], 2)
    assert json.loads(rows[1]["options"]) == {"bias": False, "squeeze": "none"}
    assert (table16 / "table_16.png").read_bytes()[:4] == b"\x89PNG"
    md = (table16 / "table_16.md").read_text()
    assert md.startswith("# Table 16") and "| NoSqueeze |" in md and "not shown for this model" in md


@pytest.mark.xdist_group("ablate-table16")
def test_second_invocation_skips_finished_variants(table16, capsys):
    stamps = {p: p.stat().st_mtime_ns for p in table16.glob("runs/*/summary.json")}
    assert len(stamps) == 3
    assert main(["ablate", "--table", "16", "--model", MODEL, "--out", str(table16), *FAST]) == 0
    out = capsys.readouterr().out
    assert out.count("finished earlier, skipped") == 3 and "training" not in out
    assert stamps == {p: p.stat().st_mtime_ns for p in table16.glob("runs/*/summary.json")}


def test_interrupted_variant_is_never_marked_finished(tmp_path):
    with pytest.raises(SenetError, match="stopped at resnet20_cifar; run the same command again"):
        senet.ablate(16, model=MODEL, out=tmp_path, only="plain", max_steps=1, **FAST_KW)
    run = tmp_path / "runs" / "resnet20_cifar"
    assert (run / "checkpoint_last.pt").exists() and not (run / "summary.json").exists()
    assert not ab.finished(run)
    assert _csv(tmp_path / "table_16.csv")[0]["status"] == "unfinished"
    assert "| plain | - | - |" in (tmp_path / "table_16.md").read_text()


def test_table_13_on_digits_then_resume_of_an_interrupted_study(tmp_path, capsys):
    out = tmp_path / "t13"
    with pytest.raises(SenetError, match="stopped at"):
        senet.ablate(13, model=MODEL, out=out, max_steps=1, **FAST_KW)
    assert main(["ablate", "--table", "13", "--model", MODEL, "--out", str(out), *FAST]) == 0
    captured = capsys.readouterr()
    assert "resumed from" in captured.out + captured.err
    rows = _csv(out / "table_13.csv")
    assert [r["variant"] for r in rows] == ["stage 2", "stage 3", "stage 4", "all"]
    assert all(r["status"] == "finished" for r in rows)
    assert "Adapted to this model's stages 2, 3, 4" in (out / "table_13.md").read_text()
    assert (out / "table_13.png").exists()


def test_table_13_adapts_to_the_models_stages():
    cifar, note = T.variants(13, (2, 3, 4))
    assert [v.options.get("stages") for v in cifar] == [(2,), (3,), (4,), None] and "Adapted" in note
    paper, note = T.variants(13, (2, 3, 4, 5))
    assert [v.label for v in paper] == ["stage 2", "stage 3", "stage 4", "all"] and note == ""


def test_paper_numbers_and_params_for_se_resnet50():
    """Table 13's params of PAPER.md section 7 (no SE biases) from the plan the runner would train."""
    rows, _ = T.variants(13, T.PAPER_STAGES)
    plans = [ab._plan(v, "se_resnet50", "resnet50", se_bias=False) for v in rows]
    params = [ab._count(p["model"], p["options"], 1000)["params"] for p in plans[:3]]
    assert params == [25_581_608, 25_688_104, 26_343_464]
    assert [p["paper"][:2] for p in plans] == [(23.03, 6.48), (23.04, 6.32), (22.68, 6.22), (22.28, 6.03)]


def test_equal_variants_share_one_run_directory():
    assert ab.slug(MODEL, {"bias": False, "reduction": 16, "squeeze": "avg"}) == f"{MODEL}_bias-False"
    assert ab.slug(MODEL, {"bias": False, "stages": (2,)}) == f"{MODEL}_bias-False_stages-2"


@pytest.mark.parametrize(
    "args,match",
    [
        (["--table", "9"], "table '9' does not exist; choose one of 10, 11, 12, 13, 14, 15, 16 or all"),
        (
            ["--table", "10"],
            r"Table 10, variant r=32: reduction=32 does not fit 16 channels.*--only r=2,r=4,r=8,r=16,plain",
        ),
        (["--table", "10", "--only", "r=3"], r"variants \['r=3'\] are not in this table; allowed: r=2, r=4"),
        (
            ["--table", "16", "--model", "resnet20_cifar"],
            "has no SE blocks; use its SE twin se_resnet20_cifar",
        ),
        (["--table", "16", "--data", "mnist"], "unknown data 'mnist'"),
        (
            ["--table", "14", "--model", "se_mobilenet"],
            r"Table 14, variant SE-PRE: placement='pre' is not allowed; choose one of 'standard'\. "
            r"Leave it out with --table 14 --only SE$",
        ),
    ],
)
def test_bad_input_is_one_line_naming_what_is_allowed(args, match, tmp_path, capsys):
    full = ["ablate", "--model", MODEL, *args, "--out", str(tmp_path / "s"), *FAST]
    assert main(full) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(match, err[0]), err
    assert not (tmp_path / "s" / "runs").exists()  # nothing trained


def test_a_run_directory_from_other_settings_is_not_reused(tmp_path):
    ab._claim(tmp_path / "r", {"model": MODEL, "epochs": 1})
    with pytest.raises(SenetError, match="other settings \\(epochs differ\\)"):
        ab._claim(tmp_path / "r", {"model": MODEL, "epochs": 2})
