"""The excitation analysis (Sec. 7.2, Figs. 6-7) and the stage-pruning experiment on digits."""

import contextlib
import io
import json
import math

import pytest
import torch

import senet
from senet import SenetError, create_model
from senet.analysis import excitations as ex
from senet.analysis import pruning
from senet.cli import main

MODEL = "se_resnet20_cifar"
CHANNELS = {"SE_2_3": 16, "SE_3_3": 32, "SE_4_1": 64, "SE_4_2": 64, "SE_4_3": 64}


# Its tests are in xdist_group 'excitations-checkpoint': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A digits checkpoint of se_resnet20_cifar (SE without biases, 10 classes) trained by the engine.

    It is the SE variant of test_ablate's Table 16 study when that ran in this session (the runner skips
    it then); otherwise the runner trains just that variant.
    """
    out = tmp_path_factory.getbasetemp() / "digits_study"
    fast = dict(
        epochs=1, max_batches=2, batch_size=16, workers=0, device="cpu", progress=False, tensorboard=False
    )
    senet.ablate(16, model=MODEL, data="digits", out=out, only="SE", **fast)
    return out / "runs" / f"{MODEL}_bias-False" / "model.safetensors"


@pytest.fixture(scope="module")
def study(checkpoint, tmp_path_factory):
    """`senet excitations ... --drop-stage 4` once for the module: (result, out dir, stdout)."""
    out = tmp_path_factory.mktemp("exc")
    args = [
        "excitations",
        "--model",
        MODEL,
        "--checkpoint",
        str(checkpoint),
        "--samples",
        "8",
        "--drop-stage",
        "4",
        "--out",
        str(out),
    ]
    with contextlib.redirect_stdout(io.StringIO()) as stdout:
        assert main(args) == 0
    return json.loads((out / "excitations.json").read_text()), out, stdout.getvalue()


@pytest.mark.xdist_group("excitations-checkpoint")
def test_one_vector_of_c_channels_per_block_per_class(study):
    data, out, _ = study
    assert list(data["blocks"]) == list(CHANNELS)  # Sec. 7.2: the last of each stage, all of the last one
    for name, c in CHANNELS.items():
        b = data["blocks"][name]
        assert b["channels"] == c and len(b["all_mean"]) == c
        assert sorted(b["class_means"]) == [str(d) for d in range(10)]
        assert all(len(m) == c for m in b["class_means"].values())
        for vectors in b["vectors"].values():
            assert len(vectors) == 8 and all(len(v) == c for v in vectors)


@pytest.mark.xdist_group("excitations-checkpoint")
def test_gate_values_lie_in_the_sigmoid_range(study):
    result = study[0]
    assert result["range"] == [0.0, 1.0]
    for b in result["blocks"].values():
        values = torch.tensor([v for vs in b["vectors"].values() for v in vs])
        assert 0.0 <= values.min() and values.max() <= 1.0
        assert 0.0 <= b["eta2"] <= 1.0 and b["specificity"] >= 0.0


@pytest.mark.xdist_group("excitations-checkpoint")
def test_figures_statistic_and_json_are_written(study):
    out = study[1]
    for name in ("fig6_class_means.png", "fig7_distribution.png", "specificity.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (out / name).stat().st_size < 400_000
    text = (out / "summary.md").read_text()
    assert "| SE_4_3 | 64 |" in text and "replaced by identity" in text


@pytest.mark.parametrize("excitation,low,high", [("tanh", -1.0, 1.0), ("relu", 0.0, math.inf)])
def test_other_gates_stay_in_their_range(excitation, low, high):
    r = senet.excitations(MODEL, samples=2, excitation=excitation, blocks="SE_3_1,SE_4_3")
    assert r["range"] == [low, high] and list(r["blocks"]) == ["SE_3_1", "SE_4_3"]
    for b in r["blocks"].values():
        assert low <= b["min"] and b["max"] <= high


def test_statistic_separates_agnostic_from_class_specific():
    labels = torch.arange(4).repeat_interleave(5)
    same = torch.rand(1, 8).expand(20, 8) + 0.01 * torch.rand(20, 8)
    agnostic = ex.block_statistics(same, labels)
    specific = ex.block_statistics(torch.eye(4)[labels].repeat(1, 2) * 0.8 + 0.1, labels)
    assert agnostic["specificity"] < 0.05 and specific["specificity"] > 0.5
    assert specific["eta2"] == pytest.approx(1.0) and specific["saturation"] == 0.0


@pytest.mark.xdist_group("excitations-checkpoint")
def test_drop_stage_matches_complexity(study):
    d = study[0]["drop_stage"]
    full = senet.complexity(MODEL, num_classes=10, bias=False).params
    without = senet.complexity(MODEL, num_classes=10, stages=(2, 3), bias=False).params
    assert d["params_saved"] == full - without == d["complexity"]["params_saved"] > 0
    assert d["consistent_with_complexity"] and d["removed_blocks"] == ["SE_4_1", "SE_4_2", "SE_4_3"]
    assert d["top1_change"] == pytest.approx(d["top1_error_without"] - d["top1_error"], abs=1e-3)


def test_drop_stage_replaces_blocks_by_identity():
    model = create_model(MODEL, num_classes=10)
    assert pruning.drop_se_stage(model, 3) == ["SE_3_1", "SE_3_2", "SE_3_3"]
    assert [b.name for b in model.se_blocks()] == [f"SE_{s}_{b}" for s in (2, 4) for b in (1, 2, 3)]
    with pytest.raises(SenetError, match=r"stages \[2, 4\]"):
        pruning.drop_se_stage(model, 3)


def test_se_resnet50_without_stage5_adds_about_4_percent():
    """Sec. 5: removing the last stage's SE blocks cuts the relative parameter increase to ~4%."""
    e = pruning.expected_saving("se_resnet50", [2, 3, 4, 5], 5, 1000, bias=False)
    assert 9.5 < e["relative_increase_pct"] < 10.5 and 3.5 < e["relative_increase_without_pct"] < 4.5


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"classes": "0,cat"}, r"classes \['cat'\] not found; allowed: 0, 1, 2"),
        ({"blocks": "SE_9_9"}, r"allowed: SE_2_1, .*SE_4_3"),
        ({"drop_stage": 5}, r"drop stage 5: this model has SE blocks in stages \[2, 3, 4\]"),
        ({"samples": 0}, "samples must be a positive integer"),
    ],
)
def test_bad_input_names_what_is_allowed(kwargs, match):
    with pytest.raises(SenetError, match=match):
        senet.excitations(MODEL, samples=kwargs.pop("samples", 1), **kwargs)


def test_plain_model_and_foreign_checkpoint_are_refused(tmp_path):
    with pytest.raises(SenetError, match="no SE blocks"):
        senet.excitations("resnet20_cifar", samples=1)
    other = tmp_path / "other.pt"
    torch.save(create_model("se_resnet32_cifar", num_classes=10).state_dict(), other)
    with pytest.raises(senet.CheckpointError):
        senet.excitations(MODEL, other, samples=1)


@pytest.mark.xdist_group("excitations-checkpoint")
def test_run_directory_supplies_the_options_and_refuses_another_model(checkpoint):
    r = senet.excitations(MODEL, checkpoint, samples=1, blocks="SE_4_3")  # bias=False read from config.json
    assert r["options"] == {"bias": False, "squeeze": "avg"}
    with pytest.raises(SenetError, match=f"checkpoint of {MODEL}, not se_resnet32_cifar"):
        senet.excitations("se_resnet32_cifar", checkpoint, samples=1)


def test_cli_prints_one_line_and_exits_2_on_bad_class(tmp_path, capsys):
    rc = main(
        ["excitations", "--model", MODEL, "--classes", "7,dog", "--samples", "1", "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "allowed: 0, 1" in err[0]


@pytest.mark.xdist_group("excitations-checkpoint")
def test_cli_reports_the_pruning_and_chosen_classes(study, checkpoint, tmp_path, capsys):
    assert "SE_4_3" in study[2] and "params saved" in study[2] and "agrees: yes" in study[2]
    args = [
        "excitations",
        "--model",
        MODEL,
        "--checkpoint",
        str(checkpoint),
        "--samples",
        "2",
        "--classes",
        "1,7",
        "--blocks",
        "SE_2_1",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert "SE_2_1" in capsys.readouterr().out
    data = json.loads((tmp_path / "excitations.json").read_text())
    assert data["classes"] == ["1", "7"] and list(data["blocks"]) == ["SE_2_1"]


def test_the_study_defaults_are_sec_7_2s():
    """SE-ResNet-50: SE_2_3, SE_3_4, SE_4_6 and all of stage 5; Fig. 6's fifty uniformly sampled channels;
    the classes goldfish, pug, plane and cliff (ImageNet synsets) where the data has them."""
    with torch.device("meta"):
        model = senet.create_model("se_resnet50")
    blocks = {b.name: b for b in model.se_blocks()}
    assert ex.default_blocks(blocks) == ["SE_2_3", "SE_3_4", "SE_4_6", "SE_5_1", "SE_5_2", "SE_5_3"]
    picked = ex.sampled_channels(2048)
    assert len(picked) == 50 and picked[0] == 0 and picked[-1] == 2047
    gaps = {b - a for a, b in zip(picked, picked[1:])}
    assert gaps <= {41, 42}  # evenly spaced
    assert ex.sampled_channels(32) == list(range(32))
    imagenet = sorted(["n01440764", "n01443537", "n02110958", "n02690373", "n09246464", "n15075141"])
    assert ex.default_classes(imagenet) == ["n01443537", "n02110958", "n02690373", "n09246464"]
    assert ex.default_classes([str(d) for d in range(10)]) == ["0", "1", "2", "3"]


@pytest.mark.xdist_group("excitations-checkpoint")
def test_fig7_is_mean_and_std_per_channel(study):
    data = study[0]
    b = data["blocks"]["SE_4_3"]
    assert len(b["fig6_channels"]) == 50 and b["fig6_channels"][-1] == 63
    vectors = torch.tensor(b["vectors"]["0"])
    torch.testing.assert_close(
        torch.tensor(b["class_stds"]["0"]), vectors.std(0, unbiased=False), atol=1e-4, rtol=0
    )


@pytest.mark.xdist_group("excitations-checkpoint")
def test_pruning_offers_both_readings(checkpoint, tmp_path):
    """Sec. 7.2 does not say whether the SE blocks were removed after training or never trained: with a
    network trained without them (stages 2, 3), both readings are reported side by side."""
    fast = dict(epochs=1, max_batches=2, batch_size=16, workers=0, progress=False, tensorboard=False)
    senet.train(
        model=MODEL,
        data="digits",
        model_options={"stages": (2, 3), "bias": False},
        out=str(tmp_path / "r"),
        **fast,
    )
    other = tmp_path / "r" / "model.safetensors"
    d = pruning.stage_pruning(MODEL, checkpoint, 4, trained_without=other, bias=False)
    t = d["trained_without"]
    assert t["stages"] == [2, 3] and t["params"] == d["complexity"]["params_without"]
    assert 0 <= t["top1_error"] <= 100
    text = "\n".join(pruning.pruning_markdown(d))
    assert "does not say whether it removed the blocks" in text and str(other) in text
    with pytest.raises(SenetError, match="goes with drop_stage"):
        senet.excitations(MODEL, checkpoint, samples=1, trained_without=other)
