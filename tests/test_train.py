"""Training end to end on tiny runs: the loss falls, the run directory's contract, eval agrees, errors."""

import json

import pytest
import torch

import senet
from senet import CheckpointError, SenetError
from senet.engine import NonFiniteLoss
from senet.evaluation.evaluator import evaluate

TINY = dict(
    model="resnet20_cifar",
    data="synthetic",
    batch_size=32,
    workers=0,
    progress=False,
    tensorboard=False,
    lr=0.05,
    deterministic=True,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread: 2 cores are shared, and spinning OpenMP threads slow a loaded machine 10-50x."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# Its tests are in xdist_group 'train-run': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # 30 steps: enough for the BN statistics to settle whatever the seed (eval uses them)
    summary = senet.train(**{**TINY, "tensorboard": True}, epochs=3, max_batches=10, out=str(out))
    return out, summary


@pytest.mark.xdist_group("train-run")
def test_training_reduces_the_loss_and_writes_the_contract(run):
    out, summary = run
    for name in (
        "checkpoint_last.pt",
        "checkpoint_best.pt",
        "model.safetensors",
        "summary.json",
        "metrics.csv",
        "config.json",
        "curves.png",
    ):
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").iterdir())
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("epoch,train_loss")
    losses = [float(r.split(",")[1]) for r in rows[1:]]
    assert losses[-1] < 0.85 * losses[0], losses
    on_disk = json.loads((out / "summary.json").read_text())
    assert (
        on_disk["top1_error"] == summary["top1_error"] and 0 <= summary["top5_error"] <= summary["top1_error"]
    )
    assert summary["top1_error"] < 75  # 10 classes: chance is 90%
    assert json.loads((out / "config.json").read_text())["config"]["micro_batch"] == 32


@pytest.mark.xdist_group("train-run")
def test_checkpoints_load_with_create_model_and_eval_matches_training(run):
    out, summary = run
    for name in ("checkpoint_best.pt", "checkpoint_last.pt", "model.safetensors"):
        senet.create_model("resnet20_cifar", num_classes=10, checkpoint=out / name)
    r = evaluate(checkpoint=out / "checkpoint_last.pt", data="synthetic", workers=0, device="cpu")
    assert r["model"] == "resnet20_cifar"
    assert r["top1_error"] == pytest.approx(summary["top1_error"], abs=1e-9)
    assert r["top5_error"] == pytest.approx(summary["top5_error"], abs=1e-9)
    assert len(r["per_class_accuracy"]) == 10 and r["images_per_s"] > 0


@pytest.mark.xdist_group("train-run")
def test_existing_run_is_not_overwritten_and_auto_resume_of_finished_run_is_a_no_op(run):
    out, summary = run
    before = (out / "checkpoint_last.pt").read_bytes()
    with pytest.raises(SenetError, match="already holds a run"):
        senet.train(**TINY, epochs=3, out=str(out))
    again = senet.train(**TINY, epochs=3, max_batches=10, out=str(out), resume="auto")
    assert again["top1_error"] == summary["top1_error"]
    assert (out / "checkpoint_last.pt").read_bytes() == before


def test_the_final_evaluation_is_the_last_epochs(tmp_path, monkeypatch):
    """Nothing trains between the last epoch's evaluation and the summary: the validation set is read once
    per epoch, and the summary holds that evaluation (a resumed finished run evaluates again: above)."""
    import senet.engine.loop as loop

    calls = []

    def counted(*args, **kwargs):
        out = evaluate_loader(*args, **kwargs)
        calls.append(out)
        return out

    evaluate_loader = loop.evaluate_loader
    monkeypatch.setattr(loop, "evaluate_loader", counted)
    summary = senet.train(**TINY, epochs=2, max_batches=2, out=str(tmp_path / "run"))
    assert len(calls) == 2
    assert summary["top1_error"] == calls[-1]["top1_error"] and summary["loss"] == calls[-1]["loss"]
    assert summary["per_class_accuracy"] == calls[-1]["per_class_accuracy"]


@pytest.mark.xdist_group("train-run")
def test_checkpoint_of_another_model_or_class_count_is_refused(run, tmp_path):
    out, _ = run
    with pytest.raises(CheckpointError, match="resnet20_cifar with 10 classes"):
        senet.train(
            **{**TINY, "model": "resnet32_cifar"},
            epochs=1,
            out=str(tmp_path / "x"),
            resume=str(out / "checkpoint_last.pt"),
        )
    assert not (tmp_path / "x" / "checkpoint_last.pt").exists()


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "nan"
    senet.train(**TINY, epochs=2, max_batches=4, out=str(out), max_steps=2)
    good = (out / "checkpoint_last.pt").read_bytes()
    real = torch.nn.CrossEntropyLoss.forward
    monkeypatch.setattr(
        torch.nn.CrossEntropyLoss, "forward", lambda self, x, y: real(self, x, y) * float("nan")
    )
    with pytest.raises(NonFiniteLoss, match="non-finite"):
        senet.train(**TINY, epochs=2, max_batches=4, out=str(out), resume="auto")
    assert (out / "checkpoint_last.pt").read_bytes() == good
    assert not (out / "summary.json").exists()


def test_cli_train_bad_input_exits_2(tmp_path, capsys):
    from senet.cli import main

    assert main(["train", "--model", "resnet20_cifar", "--data", f"imagefolder:{tmp_path}/no"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["train", "--model", "resnet20_cifar", "--recipe", "imagenett", "--out", str(tmp_path)]) == 2
    assert "unknown recipe" in capsys.readouterr().err
    assert main(["train", "--model", "resnet20_cifar", "--reduction", "4", "--out", str(tmp_path)]) == 2
    assert "se_resnet20_cifar" in capsys.readouterr().err


def test_options_together_class_balanced_accumulation_bf16_channels_last(tmp_path):
    s = senet.train(
        **{**TINY, "model": "se_resnet20_cifar"},
        epochs=1,
        max_batches=4,
        accum_steps=2,
        amp="bf16",
        channels_last=True,
        class_balanced=True,
        label_smoothing=0.1,
        recipe="imagenet-ablation",
        out=str(tmp_path / "opts"),
    )
    assert s["global_step"] == 2 and s["model_options"] == {
        "bias": False
    }  # the ablation recipe: no SE biases
    cfg = json.loads((tmp_path / "opts" / "config.json").read_text())["config"]
    assert (cfg["micro_batch"], cfg["label_smoothing"], cfg["class_balanced"]) == (16, 0.1, True)


@pytest.mark.parametrize("device", ["gpu", "cuda:x"])
def test_a_bad_device_is_one_line(device, tmp_path, capsys):
    from senet.cli import main

    args = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--device", device]
    assert main([*args, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert "device" in err and len(err.splitlines()) == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only message")
def test_cuda_without_cuda_says_so(tmp_path):
    from senet.core.distributed import DistEnv, device_for

    with pytest.raises(SenetError, match="CUDA is not available"):
        device_for(DistEnv(), "cuda")


def test_more_ranks_than_gpus_is_one_line(monkeypatch):
    """torchrun --nproc_per_node 2 on a 1-GPU node: a clear refusal, not 'invalid device ordinal'."""
    from senet.core.distributed import DistEnv, device_for

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: pytest.fail("set_device reached"))
    with pytest.raises(SenetError, match="1 GPU.*--nproc_per_node 1"):
        device_for(DistEnv(rank=1, local_rank=1, world_size=2), "cuda")
