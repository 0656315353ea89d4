"""`senet detect train|eval` on a tiny COCO-format data set the test writes (shapes on noise, with boxes)."""

import json

from PIL import Image

from senet.cli import main


def _write_coco(root, n=4, size=96):
    import torch

    g = torch.Generator().manual_seed(0)
    (root / "annotations").mkdir(parents=True)
    for split in ("train2017", "val2017"):
        (root / split).mkdir()
        images, anns = [], []
        for i in range(n):
            img = (torch.rand(size, size, 3, generator=g) * 90 + 80).byte()
            for cat, value in ((1, 255), (2, 0)):
                x, y = (int(v) for v in torch.randint(0, size // 2, (2,), generator=g))
                w, h = (int(v) for v in torch.randint(size // 5, size // 3, (2,), generator=g))
                img[y : y + h, x : x + w] = value
                anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": cat, "bbox": [x, y, w, h],
                             "area": w * h, "iscrowd": 0})  # fmt: skip
            Image.fromarray(img.numpy()).save(root / split / f"{i}.png")
            images.append({"id": i + 1, "file_name": f"{i}.png", "width": size, "height": size})
        cats = [{"id": 1, "name": "bright"}, {"id": 2, "name": "dark"}]
        (root / "annotations" / f"instances_{split}.json").write_text(
            json.dumps({"images": images, "annotations": anns, "categories": cats})
        )


def test_detect_train_then_eval_prints_coco_ap(tmp_path, capsys):
    root, out = tmp_path / "coco", tmp_path / "run"
    _write_coco(root)
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
