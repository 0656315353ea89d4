"""Fine-tuning: weights of one task start a run on another (another class count), the classifier afresh."""

import json

import pytest
import torch
from safetensors.torch import load_file

import senet
from senet.cli import main
from senet.core.distributed import DistEnv
from senet.engine import TrainConfig
from senet.engine import state as S
from senet.engine.recipes import get_recipe

QUIET = dict(workers=0, progress=False, tensorboard=False)


# Its tests are in xdist_group 'finetune-source': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """resnet20_cifar trained by senet on synthetic data with 7 classes."""
    out = tmp_path_factory.mktemp("src")
    senet.train(model="resnet20_cifar", data="synthetic:7", epochs=1, max_batches=4, out=str(out), **QUIET)
    return out / "model.safetensors"


@pytest.mark.xdist_group("finetune-source")
def test_weights_of_a_7_class_task_start_a_10_class_digits_run(source, tmp_path, capsys):
    src = load_file(source)
    assert src["fc.weight"].shape[0] == 7
    cfg = TrainConfig(
        model="resnet20_cifar", data="digits", init=str(source), out=str(tmp_path / "ft"), **QUIET
    )
    session = S.build(cfg, DistEnv(), torch.device("cpu"))  # the state before the first step
    own = session.model.state_dict()
    assert session.resolved["reinitialized"] == ["fc.weight", "fc.bias"]
    assert own["fc.weight"].shape[0] == 10
    for k, v in src.items():
        if not k.startswith("fc."):
            torch.testing.assert_close(own[k], v, rtol=0, atol=0, msg=k)
    assert "re-initialised fc.weight, fc.bias" in capsys.readouterr().out
    assert session.recipe.name == "finetune" and session.recipe.warmup_epochs == 1
    # it learns (the source saw 4 batches of blobs, so its features hardly help: a from-scratch rate)
    summary = senet.train(cfg.replace(recipe="digits", epochs=3, lr=0.05))
    assert summary["top1_error"] < 60  # 10 classes at chance: 90 % (34-42 % on 1-2 threads)
    config = json.loads((tmp_path / "ft" / "config.json").read_text())["config"]
    assert config["init"] == str(source) and config["reinitialized"] == ["fc.weight", "fc.bias"]


@pytest.mark.xdist_group("finetune-source")
def test_freeze_backbone_trains_the_classifier_alone(source, tmp_path):
    out = tmp_path / "frozen"
    assert (
        main(
            [
                "train",
                "--model",
                "resnet20_cifar",
                "--data",
                "digits",
                "--init",
                str(source),
                "--freeze-backbone",
                "--epochs",
                "1",
                "--max-batches",
                "3",
                "--workers",
                "0",
                "--no-progress",
                "--no-tensorboard",
                "--out",
                str(out),
            ]
        )  # fmt: skip
        == 0
    )
    src, got = load_file(source), load_file(out / "model.safetensors")
    for k, v in src.items():  # every backbone tensor as it came, BN statistics included
        if not k.startswith("fc."):
            torch.testing.assert_close(got[k], v, rtol=0, atol=0, msg=k)
    assert got["fc.weight"].shape == (10, 64) and got["fc.weight"].abs().sum() > 0


def test_warmup_ramps_then_follows_the_schedule():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = S.make_scheduler(opt, get_recipe("finetune"), epochs=5, lr=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert (
        lrs[0] == pytest.approx(0.01) and lrs[1] == pytest.approx(0.1) and lrs[1] > lrs[2] > lrs[3] > lrs[4]
    )
    # every recipe without warm-up keeps its schedule object (bitwise the runs it gave before)
    plain = S.make_scheduler(opt, get_recipe("cifar-resnet"), epochs=5, lr=0.1)
    assert type(plain).__name__ == "MultiStepLR"


@pytest.mark.xdist_group("finetune-source")
def test_cards_carry_the_preprocessing_the_run_used(source):
    """A run on the synthetic data normalises with its statistics; a model loaded from its file expects them."""
    net = senet.create_model("resnet20_cifar", num_classes=7, checkpoint=source)
    cfg = net.default_cfg
    assert (cfg["mean"], cfg["std"], cfg["input_size"], cfg["crop_pct"]) == (
        (0.5,) * 3,
        (0.5,) * 3,
        (3, 32, 32),
        1.0,
    )
    assert senet.create_model("resnet20_cifar").default_cfg["mean"] != (0.5,) * 3  # CIFAR's by default
