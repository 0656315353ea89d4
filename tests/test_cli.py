"""The command line: one row per model, JSON lines, the paper's tables, one-line errors with exit code 2."""

import json
import subprocess
import sys

import pytest
import torch

from senet import create_model
from senet.cli import main


def test_complexity_json(capsys):
    assert main(["complexity", "se_resnet50", "resnet50", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["model"] for r in rows] == ["se_resnet50", "resnet50"]
    assert rows[0]["params"] == 28_088_024 and rows[0]["input_size"] == 224
    assert abs(rows[0]["gflops"] - 3.87) / 3.87 < 0.005


def test_complexity_options_and_size(capsys):
    assert main(["complexity", "se_resnet50", "--reduction", "2", "--no-se-bias", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 45_676_584
    assert main(["complexity", "senet154", "--size", "320", "--json"]) == 0
    assert abs(json.loads(capsys.readouterr().out)["gflops"] - 42.2) < 0.2


def test_complexity_paper_table(capsys):
    assert main(["complexity", "--paper"]) == 0
    out = capsys.readouterr().out
    assert "SE-ResNet-50" in out and "paper_gflops" in out and "28,088,024" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["complexity", "se_resnet51"], "unknown model 'se_resnet51'; did you mean"),
        (["complexity", "se_resnet50", "--reduction", "7"], "reduction=7 does not fit 256 channels"),
        (["complexity", "resnet50", "--reduction", "8"], "resnet50 has no SE blocks"),
        (["convert", "/nonexistent.pth", "/tmp/x.safetensors", "--model", "resnet50"], "does not exist"),
    ],
)
def test_user_errors_are_one_line_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_convert_cadene_keys_to_safetensors(tmp_path, capsys):
    timm = pytest.importorskip("timm")
    torch.save(timm.create_model("legacy_seresnext50_32x4d").state_dict(), tmp_path / "cadene.pth")
    assert (
        main(
            [
                "convert",
                str(tmp_path / "cadene.pth"),
                str(tmp_path / "w.safetensors"),
                "--model",
                "se_resnext50_32x4d",
            ]
        )
        == 0
    )
    model = create_model("se_resnext50_32x4d", checkpoint=tmp_path / "w.safetensors")
    assert model.layer1[0].se.fc1.weight.shape == (16, 256, 1, 1)


def test_list_and_python_dash_m():
    out = subprocess.run(
        [sys.executable, "-m", "senet", "list", "se_resnet*"], capture_output=True, text=True
    )
    assert out.returncode == 0 and "se_resnet50" in out.stdout.split()
    bad = subprocess.run(
        [sys.executable, "-m", "senet", "complexity", "nope"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and bad.stderr.startswith("senet complexity: error: unknown model 'nope'")


def test_a_closed_pipe_is_not_an_error(monkeypatch, capsys):
    """`senet list | head`: the reader stopped early; no error line, exit 0."""
    import senet.commands.list as verb

    def closed(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(verb, "run", closed)
    assert main(["list"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""  # the patched verb ran (a real `list` prints the models)


def test_eval_reports_top5_as_na_when_five_guesses_cover_every_class(capsys):
    """With 3 classes a top-5 error is 0 whatever the model does: `senet eval` says n/a, not 0.00%."""
    argv = [
        "eval",
        "--model",
        "resnet20_cifar",
        "--data",
        "synthetic:3",
        "--workers",
        "0",
        "--batch-size",
        "64",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "top-5 error n/a (3 classes)" in out and "top-5 error 0.00%" not in out
