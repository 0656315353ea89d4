"""`senet eval`: top-1/top-5 error as training logged them, JSON output, ten-crop, imagefolder protocol."""

import json

import pytest
import torch
from PIL import Image

import senet
from senet.cli import main


# Its tests are in xdist_group 'eval-run': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("evalrun")
    summary = senet.train(
        model="se_resnet20_cifar",
        data="synthetic",
        batch_size=32,
        epochs=1,
        max_batches=3,
        workers=0,
        progress=False,
        tensorboard=False,
        out=str(out),
        model_options={"reduction": 4},
    )
    yield out, summary
    torch.set_num_threads(n)


@pytest.mark.xdist_group("eval-run")
def test_cli_eval_json_matches_the_training_summary(run, capsys):
    out, summary = run
    # no --model and no --reduction: the training checkpoint records both
    assert (
        main(
            [
                "eval",
                "--checkpoint",
                str(out / "checkpoint_best.pt"),
                "--data",
                "synthetic",
                "--workers",
                "0",
                "--json",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "se_resnet20_cifar"
    assert r["top1_error"] == pytest.approx(summary["top1_error"]) and r["top5_error"] == pytest.approx(
        summary["top5_error"]
    )
    assert (
        main(
            [
                "eval",
                "--model",
                "se_resnet20_cifar",
                "--reduction",
                "4",
                "--checkpoint",
                str(out / "model.safetensors"),
                "--data",
                "synthetic",
                "--workers",
                "0",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert f"top-1 error {summary['top1_error']:.2f}%" in text and "per-class" in text


@pytest.mark.xdist_group("eval-run")
def test_eval_of_a_checkpoint_with_other_options_fails_clearly(run, capsys):
    out, _ = run
    argv = ["eval", "--checkpoint", str(out / "model.safetensors"), "--data", "synthetic", "--workers", "0"]
    assert main([*argv, "--json"]) == 0  # the card supplies the model and its r=4
    assert '"model": "se_resnet20_cifar"' in capsys.readouterr().out
    assert main([*argv, "--model", "se_resnet20_cifar", "--reduction", "16"]) == 2  # given otherwise: refused
    assert (
        "was built with reduction=4; pass reduction=4 (on the command line: --reduction 4)"
        in capsys.readouterr().err
    )


def test_imagefolder_protocol_ten_crop_and_skipped_images(tmp_path):
    for split in ("train", "val"):
        for c in ("a", "b"):
            d = tmp_path / split / c
            d.mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", (40, 48), (120 * (c == "a"), 60, 30 * i)).save(d / f"{i}.jpg")
    (tmp_path / "val" / "b" / "1.jpg").write_bytes(b"not a jpeg")
    model = senet.create_model("resnet20_cifar", num_classes=2)
    from senet.evaluation.evaluator import evaluate

    r = evaluate(model, data=f"imagefolder:{tmp_path}", resize=36, crop=32, workers=0, device="cpu")
    assert (r["num_images"], r["skipped"], r["crop"]) == (3, 1, 32)
    t = evaluate(
        model, data=f"imagefolder:{tmp_path}", resize=36, crop=32, ten_crop=True, workers=0, device="cpu"
    )
    assert t["num_images"] == 3 and 0 <= t["top1_error"] <= 100
    # a batch whose every image is unreadable is skipped and counted, not fed to the model
    b = evaluate(
        model, data=f"imagefolder:{tmp_path}", resize=36, crop=32, batch_size=1, workers=0, device="cpu"
    )
    assert (b["num_images"], b["skipped"]) == (3, 1)


def test_eval_of_a_file_that_is_no_checkpoint_is_one_line(tmp_path, capsys):
    bogus = tmp_path / "notes.pt"
    bogus.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    args = ["eval", "--model", "resnet20_cifar", "--checkpoint", str(bogus), "--data", "synthetic"]
    assert main([*args, "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "not a PyTorch checkpoint" in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_worker_errors_print_as_one_line():
    from senet.cli import _one_line

    wrapped = (
        "Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nsenet.errors.DataError: /d/b/1.jpg: unreadable image\n'
    )
    assert _one_line(wrapped) == "/d/b/1.jpg: unreadable image"
    assert _one_line("plain message") == "plain message"
