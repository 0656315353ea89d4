"""`senet predict` and `senet.evaluation.preprocess.transforms`: a real photograph through an ImageNet model, a model
trained on the built-in digits, unreadable files, the weights' preprocessing. Nothing reaches the network."""

import json

import pytest
import torch
from PIL import Image
from torchvision.models._meta import _IMAGENET_CATEGORIES
from torchvision.transforms import InterpolationMode, v2

import senet
from senet import predict
from senet.cli import main
from senet.errors import SenetError
from senet.evaluation.preprocess import transforms

IMAGENET = set(_IMAGENET_CATEGORIES)
DIGITS = [str(i) for i in range(10)]


# Its tests are in xdist_group 'predict-files': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A real photograph (scikit-learn's china.jpg), a digit image, a text file and a missing path."""
    from sklearn.datasets import load_digits, load_sample_image

    d = tmp_path_factory.mktemp("images")
    Image.fromarray(load_sample_image("china.jpg")).save(d / "china.jpg")
    digit = (torch.tensor(load_digits().images[0]) * 255 / 16).to(torch.uint8).numpy()
    Image.fromarray(digit).resize((32, 32)).save(d / "digit.png")
    (d / "bad.jpg").write_text("not an image")
    return {
        k: str(d / n) for k, n in [("photo", "china.jpg"), ("digit", "digit.png"), ("bad", "bad.jpg")]
    } | {"missing": str(d / "missing.png")}


@pytest.fixture(scope="module")
def digits_weights(tmp_path_factory):
    """resnet20_cifar trained for 3 batches on the built-in digits: its card holds the classes "0".."9"."""
    out = tmp_path_factory.mktemp("digits_run")
    args = ["train", "--model", "resnet20_cifar", "--data", "digits", "--epochs", "1", "--max-batches", "3"]
    assert main([*args, "--out", str(out), "--workers", "0", "--no-progress", "--no-tensorboard"]) == 0
    return str(out / "model.safetensors")


def _table(text: str) -> dict[str, list[tuple[int, str, float]]]:
    """The printed tables: image -> [(rank, class, probability %)]."""
    tables, image = {}, None
    for line in text.splitlines():
        if not line.strip() or line.startswith("rank  "):
            continue
        if not line.startswith(" "):
            image = line
            tables[image] = []
            continue
        rank, rest = line.strip().split(None, 1)
        name, pct = rest.rsplit(None, 1)
        tables[image].append((int(rank), name.strip(), float(pct.rstrip("%"))))
    return tables


@pytest.mark.xdist_group("predict-files")
def test_photo_through_an_imagenet_model(files, capsys):
    photo = files["photo"]
    assert main(["predict", "--model", "se_resnet50", "--device", "cpu", photo]) == 0
    captured = capsys.readouterr()
    assert "random weights" in captured.err  # no weights: said, not hidden
    rows = _table(captured.out)[photo]
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert all(name in IMAGENET for _, name, _ in rows), rows
    assert [p for *_, p in rows] == sorted((p for *_, p in rows), reverse=True)

    assert (
        main(["predict", "--model", "se_resnet50", "--device", "cpu", "--json", "--top-k", "3", photo]) == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "se_resnet50" and len(r["predictions"]) == 1
    top = r["predictions"][0]["top"]
    assert r["predictions"][0]["image"] == photo and len(top) == 3
    assert all(t["class"] == _IMAGENET_CATEGORIES[t["index"]] for t in top)

    (p,) = predict("se_resnet50", [photo], top_k=1000, device="cpu")
    probs = [t["probability"] for t in p["top"]]
    assert len(probs) == 1000 and sorted(t["index"] for t in p["top"]) == list(range(1000))
    assert sum(probs) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.xdist_group("predict-files")
def test_digits_checkpoint_names_the_digits(files, digits_weights, capsys):
    # no --model: the card names the model, its options and its classes
    assert main(["predict", "--checkpoint", digits_weights, "--device", "cpu", files["digit"]]) == 0
    rows = _table(capsys.readouterr().out)[files["digit"]]
    assert len(rows) == 5 and all(name in DIGITS for _, name, _ in rows), rows

    assert main(["predict", "--checkpoint", digits_weights, "--top-k", "50", "--json", files["digit"]]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "resnet20_cifar"
    top = r["predictions"][0]["top"]  # top_k capped at the 10 classes
    assert sorted(t["class"] for t in top) == DIGITS and all(t["class"] == str(t["index"]) for t in top)
    assert sum(t["probability"] for t in top) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.xdist_group("predict-files")
def test_unreadable_files_are_reported_and_the_others_predicted(files, digits_weights, capsys):
    good, bad, missing = files["digit"], files["bad"], files["missing"]
    assert main(["predict", "--checkpoint", digits_weights, bad, good, missing, files["photo"]]) == 0
    captured = capsys.readouterr()
    assert set(_table(captured.out)) == {good, files["photo"]}
    err = captured.err.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith(f"{bad}: cannot read: ") and err[1].startswith(f"{missing}: cannot read: ")

    results = predict(checkpoint=digits_weights, images=[bad, good, missing], top_k=2)
    assert [r["image"] for r in results] == [bad, good, missing]
    assert "top" in results[1] and len(results[1]["top"]) == 2
    for r in (results[0], results[2]):
        assert set(r) == {"image", "error"} and "\n" not in r["error"] and r["error"]

    assert main(["predict", "--checkpoint", digits_weights, "--json", bad, missing]) == 2  # none predicted
    captured = capsys.readouterr()
    assert all("error" in p for p in json.loads(captured.out)["predictions"])
    assert len(captured.err.strip().splitlines()) == 2


@pytest.mark.xdist_group("predict-files")
def test_bad_requests_are_one_line(digits_weights, capsys):
    with pytest.raises(SenetError, match="no images given"):
        predict("resnet20_cifar", [])
    with pytest.raises(SenetError, match="top_k"):
        predict("resnet20_cifar", ["x.jpg"], top_k=0)
    with pytest.raises(SenetError, match="no model given"):
        predict(images=["x.jpg"])
    for argv in (
        ["predict", "--model", "resnet20_cifar"],
        ["predict", "--checkpoint", digits_weights, "--pretrained", "--model", "resnet20_cifar", "x.jpg"],
        ["predict", "--model", "resnet20_cifar", "--top-k", "0", "x.jpg"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("senet") and ": error: " in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.xdist_group("predict-files")
def test_pretrained_without_a_tag_before_the_images(files, tmp_path, monkeypatch, capsys):
    """`--pretrained china.jpg`: argparse hands the image to the optional TAG; it is taken as an image."""
    import senet.hub.pretrained

    weights = tmp_path / "resnet18.safetensors"  # stands in for torchvision's file: no download
    senet.save_weights(senet.create_model("resnet18", layout="torchvision"), weights)
    monkeypatch.setattr(senet.hub.pretrained, "download", lambda tag, progress=True: weights)
    assert main(["predict", "--model", "resnet18", "--json", "--pretrained", files["photo"]]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["model"] == "resnet18" and r["predictions"][0]["image"] == files["photo"]
    assert all(t["class"] in IMAGENET for t in r["predictions"][0]["top"])


def _geometry(t: v2.Compose):
    (resize,) = [s for s in t.transforms if isinstance(s, v2.Resize)]
    (crop,) = [s for s in t.transforms if isinstance(s, v2.CenterCrop)]
    return resize, crop


@pytest.mark.xdist_group("predict-files")
def test_transforms_follow_the_weights(files):
    t = transforms("se_resnet50")  # Sec. 5.1: resize 256, centre crop 224
    resize, crop = _geometry(t)
    assert resize.size == [256] and list(crop.size) == [224, 224]
    assert resize.interpolation == InterpolationMode.BILINEAR
    x = t(Image.open(files["photo"]))
    assert x.shape == (3, 224, 224) and x.dtype == torch.float32
    assert transforms("se_resnet50", train=True)(Image.open(files["photo"])).shape == (3, 224, 224)

    model = senet.create_model("resnet20_cifar")  # 32x32, crop_pct 1.0: the native view
    resize, crop = _geometry(transforms(model))
    assert resize.size == [32] and list(crop.size) == [32, 32]
    model.default_cfg = {**model.default_cfg, "crop_pct": 0.95, "interpolation": "bicubic"}
    resize, crop = _geometry(transforms(model))
    assert resize.size == [round(32 / 0.95)] == [34] and list(crop.size) == [32, 32]
    assert resize.interpolation == InterpolationMode.BICUBIC
    assert transforms(model)(Image.open(files["photo"])).shape == (3, 32, 32)

    with pytest.raises(SenetError, match="pass a registered model name"):
        transforms(torch.nn.Linear(2, 2))
