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


def test_coco_data_with_negatives_degenerate_boxes_and_bad_files(tmp_path, capsys):
    from senet.detection.faster_rcnn import coco

    root = tmp_path / "coco"
    write_coco(root, n=3, size=64)
    ann = root / "annotations" / "instances_train2017.json"
    d = json.loads(ann.read_text())
    d["annotations"] = [a for a in d["annotations"] if a["image_id"] != 1]  # image 1: a negative
    d["annotations"][0]["bbox"][2] = 0  # a box without width
    ann.write_text(json.dumps(d))
    data = coco(f"coco:{root}", "train2017")
    image, target = data[0]
    assert target["boxes"].shape == (0, 4) and target["labels"].shape == (0,)  # negatives train as such
    _, target = data[1]
    assert len(target["boxes"]) == len(target["labels"]) == 1  # the degenerate box dropped with its label
    ann.write_text("{not json")
    argv = [
        "detect",
        "train",
        "--model",
        "se_resnet18",
        "--data",
        f"coco:{root}",
        "--out",
        str(tmp_path / "r"),
    ]
    assert main(argv) == 2 and "is not a COCO annotation file" in capsys.readouterr().err
    ann.write_text(json.dumps({**d, "annotations": []}))
    assert main(argv) == 2 and "holds no annotations" in capsys.readouterr().err
