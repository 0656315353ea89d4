"""CPU runtimes beside PyTorch (issue 24): OpenVINO export and its logits on three families, deployed files
(.onnx, .xml, .pt2) in eval and predict with the card they carry, --runtime auto and its cache, ov:/ov-int8:
in senet bench, a missing package, and the refusals. Random or briefly trained weights: the digits errors of
a trained model are in tests/test_quantize.py."""

import json
import sys

import pytest
import torch

import senet
from senet.cli import main
from senet.errors import SenetError
from senet.runtimes.deployed import load_deployed, to_runtime

pytest.importorskip("openvino")
pytest.importorskip("onnxruntime")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    """--runtime auto caches its choice: in this test's folder, never the user's."""
    monkeypatch.setenv("SENET_CACHE", str(tmp_path / "cache"))


def _randomized(model: str, **kw) -> torch.nn.Module:
    """A model with BN statistics and gains drawn at random, so no branch (SE's included) hides."""
    net = senet.create_model(model, num_classes=10, **kw)
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net.eval()


@pytest.mark.parametrize(
    "model,size", [("se_resnet20_cifar", 32), ("se_bn_inception", 64), ("se_mobilenet", 32)]
)
def test_openvino_logits_match_pytorch(model, size, tmp_path):
    """ResNet, BN-Inception and MobileNet through `senet export --format openvino`: rel. diff <= 1e-4."""
    net = _randomized(model)
    path = senet.export(net, tmp_path / "m.xml", "openvino", size=size)
    assert path.is_file() and path.with_suffix(".bin").is_file()
    deployed = load_deployed(path)
    x = torch.randn(3, 3, size, size)
    with torch.no_grad():
        ref = net(x)
    out = deployed(x)
    assert deployed.runtime == "openvino" and out.shape == ref.shape
    assert ((out - ref).abs().max() / ref.abs().max()).item() <= 1e-4
    assert deployed.default_cfg["input_size"] == (3, size, size)  # the card records the exported size


def test_openvino_with_free_height_and_width(tmp_path):
    net = _randomized("se_resnet20_cifar")
    free = load_deployed(senet.export(net, tmp_path / "free.xml", "openvino", dynamic_size=True))
    assert free.input_side is None
    for side in (32, 48):
        x = torch.randn(2, 3, side, side)
        with torch.no_grad():
            torch.testing.assert_close(free(x), net(x), rtol=1e-4, atol=1e-4)


# Its tests are in xdist_group 'runtimes-digits': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """resnet20_cifar trained for 3 batches on the digits (its card: classes "0".."9"), its files, a digit."""
    from PIL import Image
    from sklearn.datasets import load_digits

    out = tmp_path_factory.mktemp("digits_run")
    args = ["train", "--model", "resnet20_cifar", "--data", "digits", "--epochs", "1", "--max-batches", "3"]
    assert main([*args, "--out", str(out), "--workers", "0", "--no-progress", "--no-tensorboard"]) == 0
    weights = str(out / "model.safetensors")
    files = {"weights": weights}
    for fmt, name in (("onnx", "m.onnx"), ("openvino", "m.xml")):
        files[fmt] = str(out / name)
        assert (
            main(["export", "resnet20_cifar", "--checkpoint", weights, "--format", fmt, "--out", files[fmt]])
            == 0
        )
    digit = (torch.tensor(load_digits().images[3]) * 255 / 16).to(torch.uint8).numpy()
    Image.fromarray(digit).resize((32, 32)).save(out / "digit.png")
    files["image"] = str(out / "digit.png")
    return files


def _predict(capsys, *argv):
    assert main(["predict", *argv, "--json", "--top-k", "3"]) == 0
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


@pytest.mark.xdist_group("runtimes-digits")
def test_deployed_files_predict_with_their_cards_classes_and_preprocessing(digits, capsys):
    ref, _ = _predict(capsys, digits["image"], "--checkpoint", digits["weights"])
    assert ref["runtime"] == "torch"
    for fmt in ("onnx", "openvino"):
        r, _ = _predict(capsys, digits["image"], "--checkpoint", digits[fmt])
        assert r["model"] == "resnet20_cifar" and r["runtime"] == {"onnx": "ort", "openvino": "openvino"}[fmt]
        top, want = r["predictions"][0]["top"], ref["predictions"][0]["top"]
        assert [t["class"] for t in top] == [t["class"] for t in want]  # the card's names "0".."9"
        assert all(abs(a["probability"] - b["probability"]) < 1e-4 for a, b in zip(top, want))
    for runtime in ("torch", "openvino"):  # a checkpoint run by a runtime named (auto: the next test)
        r, _ = _predict(capsys, digits["image"], "--checkpoint", digits["weights"], "--runtime", runtime)
        assert r["runtime"] == runtime
        assert r["predictions"][0]["top"][0]["class"] == ref["predictions"][0]["top"][0]["class"]


@pytest.mark.xdist_group("runtimes-digits")
def test_runtime_auto_names_its_choice_measures_once_and_caches_it(digits, capsys, tmp_path):
    r, err = _predict(capsys, digits["image"], "--checkpoint", digits["onnx"], "--runtime", "auto")
    line = err.strip().splitlines()[-1]
    assert line.startswith(f"runtime: {r['runtime']} (auto, measured now: ") and r["runtime"] in (
        "ort",
        "openvino",
    )
    assert "ort" in line and "openvino" in line  # both runtimes that read an .onnx file were timed
    cache = json.loads((tmp_path / "cache" / "runtimes.json").read_text())
    assert [v["runtime"] for v in cache.values()] == [r["runtime"]]
    again, err = _predict(capsys, digits["image"], "--checkpoint", digits["onnx"], "--runtime", "auto")
    assert again["runtime"] == r["runtime"] and "cached" in err
    # weights: torch, ort and openvino are the candidates
    w, err = _predict(capsys, digits["image"], "--checkpoint", digits["weights"], "--runtime", "auto")
    assert w["runtime"] in ("torch", "ort", "openvino") and "torch" in err and "openvino" in err


@pytest.mark.xdist_group("runtimes-digits")
def test_eval_of_a_checkpoint_in_another_runtime_gives_its_errors(digits, capsys):
    results = {}
    for runtime in ("torch", "ort", "openvino"):
        argv = ["eval", "--checkpoint", digits["weights"], "--runtime", runtime, "--workers", "0", "--json"]
        assert main(argv) == 0
        results[runtime] = json.loads(capsys.readouterr().out)
        assert results[runtime]["runtime"] == runtime
    assert results["ort"]["top1_error"] == results["openvino"]["top1_error"] == results["torch"]["top1_error"]


def test_bench_times_openvino_fp32_and_int8_and_auto_beside_the_others():
    refs = ["resnet20_cifar", "ov:resnet20_cifar", "ov-int8:resnet20_cifar", "auto:resnet20_cifar"]
    r = senet.bench(refs, size=32, iters=2, warmup=1)
    assert [row["model"] for row in r["models"]] == refs
    assert all(row["ms"]["median"] > 0 for row in r["models"])
    assert r["models"][-1]["runtime"] in ("torch", "ort", "openvino")  # what auto took


def test_openvino_int8_keeps_se_in_float_when_asked(tmp_path):
    """se="float": NNCF's ignored scope holds every SE node (squeeze, FCs, gate, scale), so no quantizer
    feeds one while the rest of the network is quantized; the file reloads to the same function with its
    card. (se="int8", the default, is the agreement test of tests/test_quantize.py.)"""
    from senet.deploy.quantize import load_quantized, quantize

    net = _randomized("se_resnet20_cifar")
    x = torch.randn(4, 3, 32, 32)
    q = quantize(net, torch.randn(8, 3, 32, 32), backend="openvino", se="float")
    fed = [
        t.get_node().get_friendly_name()
        for op in q.program.get_ordered_ops()
        if op.get_type_name() == "FakeQuantize"
        for t in op.output(0).get_target_inputs()
    ]
    assert len(fed) >= 19 and not [n for n in fed if ".se" in n]  # 19 convs quantized, no SE node
    q.save(tmp_path / "float.xml")
    again = load_quantized(tmp_path / "float.xml")
    torch.testing.assert_close(again(x), q(x))
    assert again.card["model"] == "se_resnet20_cifar"


@pytest.mark.parametrize(
    "missing,argv,extra",
    [
        ("openvino", ["export", "resnet20_cifar", "--format", "openvino", "--out", "{tmp}/m.xml"], "senet[openvino]"),
        ("nncf", ["quantize", "--model", "resnet20_cifar", "--data", "synthetic", "--backend", "openvino"], "senet[openvino]"),
        ("onnxruntime", ["eval", "--model", "resnet20_cifar", "--data", "synthetic", "--runtime", "ort"], "senet[onnx]"),
    ],
)  # fmt: skip
def test_a_missing_package_is_one_line_naming_the_extra(missing, argv, extra, monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, missing, None)  # import fails as if it were not installed
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("note: ")]
    assert len(err) == 1 and f"pip install '{extra}'" in err[0], err


@pytest.mark.xdist_group("runtimes-digits")
def test_refusals(digits, tmp_path, capsys):
    xml = digits["openvino"]

    def fails(argv, pattern):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and __import__("re").search(pattern, err[0]), err

    fails(["predict", digits["image"], "--checkpoint", xml, "--runtime", "ort"], r"runs in openvino, not ort")
    fails(["eval", "--checkpoint", xml, "--amp", "bf16"], r"own precision: drop --amp")
    fails(["eval", "--checkpoint", xml, "--model", "resnet50"], r"holds resnet20_cifar, not resnet50")
    fails(["eval", "--checkpoint", xml, "--reduction", "8"], r"deployed file is built already")
    fails(["eval", "--checkpoint", xml, "--data", "digits", "--workers", "0", "--batch-size", "8",
           "--resize", "40", "--crop", "40"], r"exported for 32x32 images, got 40x40.*--crop 32")  # fmt: skip
    bad = tmp_path / "text.onnx"
    bad.write_text("not a model")
    fails(["eval", "--checkpoint", str(bad)], r"is not an ONNX model")
    lone = tmp_path / "lone.xml"
    lone.write_bytes(open(xml, "rb").read())
    fails(["eval", "--checkpoint", str(lone)], r"'lone.bin' are not beside it")
    fails(["eval", "--checkpoint", str(tmp_path / "missing.xml")], r"does not exist")
    with pytest.raises(SenetError, match="runtime='tvm'"):
        to_runtime(senet.create_model("resnet20_cifar"), "tvm", 32)


def test_quantize_cli_openvino_writes_an_xml_that_eval_runs(tmp_path, capsys):
    """`senet quantize --backend openvino --out m.xml`, then `senet eval --checkpoint m.xml`: the file runs
    in OpenVINO with its card (the 10 synthetic classes) and gives the int8 error quantize printed."""
    out = str(tmp_path / "m.int8.xml")
    argv = ["quantize", "--model", "resnet20_cifar", "--data", "synthetic", "--backend", "openvino"]
    assert main([*argv, "--calib", "16", "--out", out, "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["backend"] == "openvino" and q["se"] == "int8" and q["out"] == out
    assert main(["eval", "--checkpoint", out, "--data", "synthetic", "--workers", "0", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["runtime"] == "openvino" and r["model"] == "resnet20_cifar" and r["num_images"] == q["images"]
    assert r["top1_error"] == pytest.approx(q["int8_top1_error"])
