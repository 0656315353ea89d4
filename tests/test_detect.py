"""`senet detect train|eval` on a tiny COCO-format data set the test writes (shapes on noise, with boxes)."""

import json

from coco_tiny import write_coco
from senet.cli import main


def test_detect_train_then_eval_prints_coco_ap(tmp_path, capsys):
    root, out = tmp_path / "coco", tmp_path / "run"
    write_coco(root)
    argv = ["detect", "train", "--model", "se_resnet18", "--data", f"coco:{root}", "--epochs", "1",
            "--batch-size", "2", "--lr", "0.01", "--min-size", "96", "--max-size", "96", "--workers", "0",
            "--no-progress", "--out", str(out), "--json"]  # fmt: skip
    assert main([*argv, "--max-steps", "1"]) == 0  # stopped in the first epoch: nothing finished yet
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "stopped"
    assert main([*argv, "--resume", "auto", "--lr", "0.02"]) == 2  # another setting: refused
    assert "lr: 0.01 -> 0.02" in capsys.readouterr().err
    assert main([*argv, "--resume", "auto"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and {"AP", "AP50", "AP75"} <= set(summary)
    for f in ("checkpoint_last.pt", "model.safetensors", "summary.json", "config.json"):
        assert (out / f).is_file(), f
    assert main(argv) == 2  # a finished run is not trained over
    assert "--resume auto or another --out" in capsys.readouterr().err
    assert (
        main(["detect", "eval", "--checkpoint", str(out / "checkpoint_last.pt"), "--data", f"coco:{root}"])
        == 0
    )
    text = capsys.readouterr().out
    assert "AP " in text and "AP50 " in text and "AP75 " in text
    assert main(["detect", "eval", "--checkpoint", str(out / "checkpoint_last.pt"), "--data", str(root)]) == 2
    assert "coco:ROOT" in capsys.readouterr().err
