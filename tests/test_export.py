"""``senet.export`` / ``senet export``: ONNX (checked by onnxruntime) and TorchScript, atomic writes."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest
import torch

from senet import SenetError, create_model, list_models, model_info
from senet.cli import main
from senet.deploy.export import export
from zoo_sizes import huge_models

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

# In the default run, two kinds of graph: residual + SE (ResNet), ceil-mode pools + concat (BN-Inception);
# channel shuffle, Shake-Shake in eval, VGG's 7x7 pool and the rest in the slow run (5-7 s each).
REPRESENTATIVE = ["se_resnet18", "se_bn_inception"]


def _model(name):
    torch.manual_seed(0)
    return create_model(name, num_classes=10).eval()


def _check_onnx_parity(name, path, batch=3):
    """Export at batch 2, run onnxruntime at ``batch`` (dynamic batch), compare with PyTorch."""
    model = _model(name)
    size = model_info(name).min_input_size
    export(model, path, "onnx", size=size)
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        ref = model(x).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.numpy()})
    scale = max(1.0, float(np.abs(ref).max()))
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5 * scale)
    graph = onnx.load(str(path)).graph
    pools = [n for n in graph.node if n.op_type in ("ReduceMean", "GlobalAveragePool")]
    assert len(pools) >= len(model.se_blocks()) if hasattr(model, "se_blocks") else True
    assert graph.input[0].type.tensor_type.shape.dim[0].dim_param  # symbolic batch


@pytest.mark.parametrize("name", REPRESENTATIVE)
def test_onnx_parity_representative(name, tmp_path):
    _check_onnx_parity(name, tmp_path / f"{name}.onnx")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", [n for n in list_models() if n not in REPRESENTATIVE and n not in huge_models()]
)
def test_onnx_parity_every_model(name, tmp_path):
    """Every model under ONNX's 2 GB single-file limit (the 32x48d nets need external data files)."""
    _check_onnx_parity(name, tmp_path / f"{name}.onnx")


def test_torchscript_roundtrip(tmp_path):
    model = _model("se_mobilenet")
    path = export(model, tmp_path / "m.pt", "torchscript", size=32)
    loaded = torch.jit.load(str(path))
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))


def test_export_by_name_with_checkpoint(tmp_path):
    """The CLI path: a registered name, weights from a checkpoint, the default output permissions."""
    from senet.hub.weights import save_weights

    model = _model("se_resnet18")
    ckpt = save_weights(model, tmp_path / "w.safetensors")
    out = tmp_path / "r18.onnx"
    assert (
        main(
            [
                "export",
                "se_resnet18",
                "--checkpoint",
                str(ckpt),
                "--num-classes",
                "10",
                "--format",
                "onnx",
                "--out",
                str(out),
                "--size",
                "32",
            ]
        )
        == 0
    )
    x = torch.randn(1, 3, 32, 32)
    (got,) = ort.InferenceSession(str(out)).run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-4, atol=1e-5)
    assert os.stat(out).st_mode & 0o044  # readable by others like any file the user writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r18.onnx", "w.safetensors"]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["export", "se_resnet5", "--format", "onnx"], "unknown model 'se_resnet5'"),
        (["export", "se_resnet18", "--format", "tflite"], "format='tflite' is not allowed"),
        (["export", "se_resnet18", "--format", "onnx", "--size", "8"], "at least 32"),
        (["export", "se_resnet18", "--format", "onnx", "--reduction", "5"], "reduction=5"),
    ],
)
def test_cli_bad_input_one_line_exit_2(argv, match, tmp_path, capsys):
    out = tmp_path / "m.onnx"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_unwritable_output(tmp_path, capsys):
    assert main(["export", "se_resnet18", "--format", "onnx", "--out", str(tmp_path / "no" / "m.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "se_resnet18", "--format", "onnx", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_read_only_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(SenetError, match="not writable"):
        export("se_resnet18", ro / "m.onnx")


def test_failed_export_leaves_no_file(tmp_path, monkeypatch):
    ex = importlib.import_module("senet.deploy.export")  # `senet.export` is the function

    def broken(model, x, path, *args):
        with open(path, "wb") as f:
            f.write(b"half an onnx file")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(ex, "_onnx", broken)
    (tmp_path / "m.onnx").write_bytes(b"previous")
    with pytest.raises(RuntimeError, match="crashed"):
        export(_model("se_resnet18"), tmp_path / "m.onnx", size=32)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]
    assert (tmp_path / "m.onnx").read_bytes() == b"previous"  # the old file survives a failed export


def test_options_only_with_a_name(tmp_path):
    with pytest.raises(SenetError, match="apply to a model name"):
        export(_model("se_resnet18"), tmp_path / "m.onnx", reduction=8)


def test_onnx_refuses_weights_beyond_one_files_limit(tmp_path, monkeypatch):
    """ONNX's protobuf holds under 2 GiB per file (ResNeXt-101 32x48d has 3.1 GiB): refused before tracing,
    naming the format that can take it."""
    import senet.runtimes.onnx as O
    from senet.deploy.quantize import onnx_runtime

    monkeypatch.setattr(O, "ONNX_LIMIT", 1000)
    with pytest.raises(
        SenetError, match="one ONNX file holds under 2 GiB: export it with --format torchscript"
    ):
        export("resnet20_cifar", tmp_path / "m.onnx")
    assert not list(tmp_path.iterdir())
    with pytest.raises(SenetError, match="one ONNX file holds under 2 GiB: run it in torch or OpenVINO"):
        onnx_runtime(create_model("resnet20_cifar"), 32)  # senet bench's ort:, --runtime ort
