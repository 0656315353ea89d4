"""`senet bench` and `senet.bench`: structure only (timings are benchmarks, never asserted here)."""

import json

import pytest

import senet
from senet.cli import main
from senet.deploy.benchmark import split_models
from senet.errors import SenetError

TINY = dict(size=32, iters=2, warmup=1, threads=1)


def test_bench_function_rows_and_ratios():
    result = senet.bench("resnet20_cifar,se_resnet20_cifar", **TINY)
    assert result["config"]["iters"] == 2 and result["config"]["threads"] == 1
    assert (
        result["environment"]["torch"] and result["environment"]["device"] and result["environment"]["date"]
    )
    first, second = result["models"]
    assert [first["model"], second["model"]] == ["resnet20_cifar", "se_resnet20_cifar"]
    assert first["ratio"] == 1.0 and first["latency_ratio"] == 1.0
    assert second["ratio"] > 0 and second["ratio_q1"] <= second["ratio"] <= second["ratio_q3"]
    for row in result["models"]:
        assert len(row["samples_ms"]) == 2
        assert row["ms"]["min"] <= row["ms"]["median"] <= row["ms"]["max"]
        assert row["images_per_s"]["median"] > 0 and row["params"] > 0
    assert second["params"] > first["params"]  # the SE blocks' 2C^2/r parameters


def test_bench_cli_json_has_ratio_and_command(capsys, tmp_path):
    out = tmp_path / "r.json"
    argv = ["bench", "--models", "resnet20_cifar,se_resnet20_cifar", "--size", "32", "--iters", "2"]
    assert main([*argv, "--warmup", "0", "--threads", "1", "--json", "--output", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["ratio"] for r in printed["models"]][0] == 1.0
    assert all("ratio" in r and "latency_ratio" in r for r in printed["models"])
    assert printed["command"].startswith("senet bench --models resnet20_cifar,se_resnet20_cifar")
    assert json.loads(out.read_text())["command"] == printed["command"]


def test_bench_cli_table_train_mode_channels_last(capsys):
    argv = ["bench", "--models", "se_resnet20_cifar", "--mode", "train", "--channels-last", "--size", "32"]
    assert main([*argv, "--iters", "2", "--warmup", "0", "--batch-size", "2"]) == 0
    text = capsys.readouterr().out
    assert "train" in text and "channels-last" in text and "se_resnet20_cifar" in text


def test_bench_optimized_and_model_options():
    result = senet.bench(["se_resnet20_cifar[reduction=8]", "resnet20_cifar"], optimize=True, **TINY)
    assert result["config"]["optimize"] is True
    assert [r["model"] for r in result["models"]] == ["se_resnet20_cifar[reduction=8]", "resnet20_cifar"]


def test_bench_reference_models():
    pytest.importorskip("timm")
    result = senet.bench("resnet18,timm:resnet18,torchvision:resnet18", **TINY)
    params = [r["params"] for r in result["models"]]
    assert params[0] == params[1] == params[2]  # the same network, three implementations


def test_split_models_keeps_bracketed_options():
    assert split_models("a, b[layout=torchvision,reduction=8],timm:c") == [
        "a",
        "b[layout=torchvision,reduction=8]",
        "timm:c",
    ]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--models", "resnet_20"], "unknown model"),
        (["--models", "foo:bar"], "unknown source"),
        (["--models", "resnet20_cifar", "--iters", "1"], "iters must be an integer >= 2"),
        (["--models", "resnet20_cifar", "--mode", "train", "--optimize"], "inference only"),
    ],
)
def test_bench_cli_errors(argv, message, capsys):
    assert main(["bench", *argv, "--size", "32"]) == 2
    assert message in capsys.readouterr().err


def test_bench_cuda_unavailable_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is here")
    with pytest.raises(SenetError, match="CUDA is not available"):
        senet.bench("resnet20_cifar", device="cuda", **TINY)


def test_bench_runtime_prefixes_onnx_runtime_and_int8_in_one_table(capsys):
    """Every CPU deployment choice of a model in the same interleaved rounds (issue 13): ONNX Runtime fp32
    and int8 (SE in int8 and in float), PT2E int8 run by Inductor, bf16, BN-folded."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("torchao")
    refs = [
        "se_resnet20_cifar",
        "ort:se_resnet20_cifar",
        "ort-int8:se_resnet20_cifar",
        "ort-int8[se=float]:se_resnet20_cifar",
        "int8:se_resnet20_cifar",
        "bf16:se_resnet20_cifar",
        "folded:se_resnet20_cifar",
    ]
    result = senet.bench(refs, **TINY)
    rows = result["models"]
    assert [r["model"] for r in rows] == refs
    assert len({r["params"] for r in rows}) == 1  # the same network under every runtime
    for r in rows:
        assert len(r["samples_ms"]) == 2 and r["ms"]["median"] > 0 and r["latency_ratio"] > 0


def test_bench_runtime_prefix_parsing_and_refusals():
    from senet.deploy.benchmark import split_runtime

    assert split_runtime("int8[se=float]:se_resnet50") == ([("int8", {"se": "float"})], "se_resnet50")
    assert split_runtime("compiled:folded:timm:seresnet50") == (
        [("compiled", {}), ("folded", {})],
        "timm:seresnet50",
    )
    assert split_runtime("torchvision:resnet18") == ([], "torchvision:resnet18")
    with pytest.raises(SenetError, match="inference only"):
        senet.bench("int8:se_resnet20_cifar", mode="train", **TINY)
    for ref, message in (
        ("ort:ort:se_resnet20_cifar", "twice"),
        ("ort-int8[se=half]:resnet20_cifar", "se="),
        ("ort-int8[bits=4]:resnet20_cifar", "unknown option"),
        ("folded[x=1]:resnet20_cifar", "takes no options"),
        ("int8:ort:resnet20_cifar", "no other runtime prefix"),
    ):
        with pytest.raises(SenetError, match=message):
            senet.bench(ref, **TINY)


def test_performance_doc_holds_the_deploy_tables_of_the_committed_results():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import deploy_table

    from docblock import check_block

    check_block("docs/performance.md", "cpu-deploy-tables", "\n\n".join(deploy_table.tables()))
    check_block("docs/performance.md", "cpu-runtime-tables", "\n\n".join(deploy_table.runtime_tables()))
