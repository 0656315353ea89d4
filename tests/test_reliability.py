"""Runs you can trust: locks, leftovers, the non-finite guard, resume rules, weight cards, one-line errors.

(The table-driven refusals are in test_bad_input.py; exact resume in test_resume.py and test_distributed.py.)
"""

import errno
import os
import stat

import pytest
import torch
from safetensors.torch import load_file, save_file

import senet
from senet import CheckpointError, SenetError
from senet.cli import main
from senet.engine import NonFiniteLoss
from senet.engine import checkpoint as ckpt
from senet.engine.rundir import RunDir

TINY = dict(
    model="resnet20_cifar",
    data="synthetic",
    batch_size=32,
    epochs=1,
    max_batches=2,
    workers=0,
    progress=False,
    tensorboard=False,
    deterministic=True,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ---- 1. nothing lost: a locked run directory, leftovers removed, a failed start leaves nothing ------------
def test_a_second_run_on_a_directory_in_use_is_refused_naming_the_holder(tmp_path):
    with RunDir(tmp_path / "r").hold():
        with pytest.raises(SenetError, match=rf"in use by pid {os.getpid()} on"):
            senet.train(**TINY, out=str(tmp_path / "r"))
    assert not (tmp_path / "r").exists()  # the holder made it and wrote nothing: it is gone again


def test_stale_temporaries_are_removed_and_a_failed_start_leaves_nothing(tmp_path):
    out = tmp_path / "r"
    senet.train(**TINY, out=str(out), max_steps=1)  # stopped: a checkpoint, no summary
    stale = out / ".checkpoint_last.pt.abc123.tmp"
    stale.write_bytes(b"x" * 1000)  # what a SIGKILL during a write leaves
    senet.train(**TINY, out=str(out), resume="auto")
    assert not stale.exists() and (out / "summary.json").exists()
    with pytest.raises(SenetError):  # fails in the first batch: the crop does not fit the 32 px digits
        senet.train(**{**TINY, "data": "digits", "image_size": 64}, out=str(tmp_path / "failed"))
    assert not (tmp_path / "failed").exists()


def test_run_files_have_the_usual_permissions(tmp_path):
    senet.train(**TINY, out=str(tmp_path / "r"))
    (tmp_path / "plain").write_text("x")
    usual = stat.S_IMODE((tmp_path / "plain").stat().st_mode)
    for f in ("checkpoint_last.pt", "checkpoint_best.pt", "model.safetensors", "summary.json", "config.json"):
        assert stat.S_IMODE((tmp_path / "r" / f).stat().st_mode) == usual, f


# ---- 2. no non-finite state is ever saved ------------------------------------------------------------------
def test_weights_turning_non_finite_stop_the_run_and_the_named_checkpoint_is_good(tmp_path, monkeypatch):
    step = torch.optim.SGD.step
    calls = []

    def poisoned(self, *a, **kw):  # the 3rd optimizer step (epoch 2) writes a NaN into a weight
        out = step(self, *a, **kw)
        calls.append(1)
        if len(calls) == 3:
            self.param_groups[0]["params"][0].data[0] = float("nan")
        return out

    monkeypatch.setattr(torch.optim.SGD, "step", poisoned)
    out = tmp_path / "r"
    with pytest.raises(NonFiniteLoss, match=r"non-finite .*checkpoint_last\.pt is the last good state"):
        senet.train(**{**TINY, "epochs": 2}, out=str(out))
    state = ckpt.load(out / "checkpoint_last.pt")
    assert state["epoch"] == 1  # the end of epoch 1, saved before the poison
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
    assert not (out / "model.safetensors").exists() and not (out / "summary.json").exists()


def test_a_diverging_first_epoch_saves_nothing(tmp_path, capsys):
    rc = main(["train", "--model", "resnet20_cifar", "--data", "synthetic", "--lr", "1e12", "--epochs", "1",
               "--max-batches", "3", "--workers", "0", "--no-progress", "--no-tensorboard",
               "--out", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "non-finite" in err[0] and "no checkpoint had been saved" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_first_epoch_whose_outputs_are_non_finite_is_not_called_done(tmp_path, capsys):
    """--lr 1e30: one step leaves the weights finite, but the network answers inf/NaN."""
    rc = main(["train", "--model", "resnet20_cifar", "--data", "synthetic", "--lr", "1e30", "--epochs", "1",
               "--max-batches", "1", "--workers", "0", "--no-progress", "--no-tensorboard",
               "--out", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert "outputs" in err[0] and "non-finite" in err[0] and "no checkpoint had been saved" in err[0]
    assert not (tmp_path / "r").exists()


def test_outputs_turning_non_finite_after_a_good_epoch_stop_the_run_and_nothing_is_marked_best(
    tmp_path, monkeypatch
):
    step = torch.optim.SGD.step
    calls = []

    def poisoned(self, *a, **kw):  # the last step of epoch 2: finite weights whose outputs overflow to inf
        out = step(self, *a, **kw)
        calls.append(1)
        if len(calls) == 4:
            for p in self.param_groups[0]["params"]:
                if p.ndim == 2:  # the classifier
                    p.data.fill_(3e38)
        return out

    monkeypatch.setattr(torch.optim.SGD, "step", poisoned)
    out = tmp_path / "r"
    with pytest.raises(
        NonFiniteLoss, match=r"outputs .*non-finite .*checkpoint_last\.pt is the last good state"
    ):
        senet.train(**{**TINY, "epochs": 2}, out=str(out))
    for name in ("checkpoint_last.pt", "checkpoint_best.pt"):
        state = ckpt.load(out / name)
        assert state["epoch"] == 1 and state["best_epoch"] == 1 and len(state["history"]) == 1
        assert all(
            torch.isfinite(torch.tensor(v)) for k, v in state["history"][0].items() if k.startswith("val")
        )
    assert not (out / "model.safetensors").exists() and not (out / "summary.json").exists()


# ---- 3. resume: --epochs on a schedule that does not depend on it ----------------------------------------
def test_more_epochs_on_a_step_schedule_equal_a_longer_run(tmp_path):
    run = {**TINY, "recipe": "imagenet", "image_size": 32, "lr": 0.05}  # /10 every 30 epochs
    senet.train(**run, out=str(tmp_path / "short"))
    senet.train(**{**run, "epochs": 2}, out=str(tmp_path / "short"), resume="auto")
    senet.train(**{**run, "epochs": 2}, out=str(tmp_path / "long"))
    a, b = (load_file(tmp_path / d / "model.safetensors") for d in ("short", "long"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_damaged_summary_is_one_line_not_a_traceback(tmp_path):
    senet.train(**TINY, out=str(tmp_path / "r"))
    (tmp_path / "r" / "summary.json").write_text("{not json")
    with pytest.raises(SenetError, match=r"summary.json is unreadable"):
        senet.train(**TINY, out=str(tmp_path / "r"), resume="auto")


# ---- 4. weights go only into the network they were made for -------------------------------------------------
def test_a_card_less_file_in_senet_keys_needs_the_torchvision_layout(tmp_path):
    """timm's and torchvision's ResNets have the torchvision layout; their keys are senet's."""
    source = senet.create_model("se_resnet50", layout="torchvision").eval()
    path = tmp_path / "timm_seresnet50.pth"
    torch.save(source.state_dict(), path)  # no card: as timm writes it
    with pytest.raises(CheckpointError, match=r"layout='torchvision' \(--layout torchvision\)"):
        senet.create_model("se_resnet50", checkpoint=path)
    model = senet.create_model("se_resnet50", layout="torchvision", checkpoint=path).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), source(x))


def test_files_record_what_they_hold_and_other_options_are_refused(tmp_path):
    model = senet.create_model("se_resnet20_cifar", squeeze="max", excitation="tanh")
    senet.save_weights(model, tmp_path / "w.safetensors", classes=list("abcdefghij"))
    card = senet.hub.weights.read_weights(tmp_path / "w.safetensors")[1]
    assert card["model"] == "se_resnet20_cifar" and card["num_classes"] == 10 and card["classes"][0] == "a"
    assert card["options"]["squeeze"] == "max" and card["options"]["excitation"] == "tanh"
    with pytest.raises(
        CheckpointError, match=r"squeeze='max', excitation='tanh'.*--squeeze max --excitation tanh"
    ):
        senet.create_model("se_resnet20_cifar", checkpoint=tmp_path / "w.safetensors")
    senet.create_model(
        "se_resnet20_cifar", squeeze="max", excitation="tanh", checkpoint=tmp_path / "w.safetensors"
    )


@pytest.mark.parametrize("bad", ["int64", "bool", "complex", "nan", "inf"])
def test_non_float_and_non_finite_tensors_are_refused(bad, tmp_path):
    sd = senet.create_model("resnet20_cifar").state_dict()
    w = sd["conv1.weight"]
    sd["conv1.weight"] = {
        "int64": w.long(),
        "bool": w > 0,
        "complex": w.to(torch.complex64),
        "nan": w.clone().fill_(float("nan")),
        "inf": w.clone().fill_(float("inf")),
    }[bad]
    path = tmp_path / "w.pt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match=r"conv1\.weight"):
        senet.create_model("resnet20_cifar", checkpoint=path)
    if bad == "nan":  # evaluation and export load through the same check
        with pytest.raises(CheckpointError, match="NaN"):
            senet.evaluate("resnet20_cifar", checkpoint=path, data="synthetic", workers=0)
        with pytest.raises(CheckpointError, match="NaN"):
            senet.export("resnet20_cifar", tmp_path / "m.onnx", checkpoint=path)
        assert not (tmp_path / "m.onnx").exists()


def test_save_weights_refuses_non_finite_weights(tmp_path):
    sd = {"w": torch.tensor([1.0, float("nan")])}
    with pytest.raises(SenetError, match="NaN"):
        senet.save_weights(sd, tmp_path / "w.safetensors")
    save_file({"w": torch.ones(2)}, tmp_path / "ok.safetensors")


# ---- 6. one line for the errors of the system ------------------------------------------------------------------
def test_a_full_disk_is_one_line(tmp_path, capsys, monkeypatch):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "checkpoint_last.pt"))

    monkeypatch.setattr(senet.core.io, "atomic_write", no_space)
    monkeypatch.setattr(senet.core.io, "torch_save", no_space)
    rc = main(["train", "--model", "resnet20_cifar", "--data", "synthetic", "--epochs", "1", "--max-batches", "1",
               "--workers", "0", "--no-progress", "--no-tensorboard", "--out", str(tmp_path / "r")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "no space left on the device" in err[0], err


def test_ctrl_c_at_start_up_is_exit_130_without_a_traceback(capsys, monkeypatch):
    import senet.cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(senet.cli, "build_parser", interrupted)
    assert main(["list"]) == 130
    err = capsys.readouterr().err
    assert err.strip() == "senet: interrupted" and "Traceback" not in err


# ---- 7. every way out ends the run: errors with data-loader workers, signals from the start ---------------
def _folder_with_a_truncated_jpeg(root, split="train"):
    """8 + 8 training and 2 + 2 validation JPEGs of two classes; one of ``split``'s is cut in half."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for part, n in (("train", 8), ("val", 2)):
        for c in ("a", "b"):
            (root / part / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (36, 36, 3), dtype=np.uint8)).save(
                    root / part / c / f"{i}.jpg"
                )
    bad = root / split / "a" / "0.jpg"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    return bad


def _senet(*argv, timeout=90, prefix=()):
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [*prefix, *([] if prefix else [sys.executable]), "-m", "senet", *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


IMAGEFOLDER_RUN = ["train", "--model", "resnet20_cifar", "--epochs", "1", "--batch-size", "4", "--image-size", "32",
                   "--no-progress", "--no-tensorboard", "--device", "cpu"]  # fmt: skip


@pytest.mark.parametrize(
    "split, workers", [("train", []), ("train", ["--workers", "2"]), ("val", ["--workers", "1"])]
)
def test_an_unreadable_image_with_strict_ends_the_run_with_its_workers(tmp_path, split, workers):
    """The error comes from a data-loader worker; the run ends at once (it used to wait on its workers
    forever: the re-raised error kept the loader alive until exit, and the workers ignore SIGTERM)."""
    bad = _folder_with_a_truncated_jpeg(tmp_path / "d", split)
    proc = _senet(*IMAGEFOLDER_RUN, "--data", f"imagefolder:{tmp_path / 'd'}", "--strict", *workers,
                  "--out", str(tmp_path / "r"))  # fmt: skip
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr[-3000:]
    assert f"unreadable image {bad}" in err[0] and "drop --strict" in err[0]
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("scales", [[], ["--scales", "32,36"]])
def test_evaluating_an_unreadable_image_with_strict_ends_with_its_workers(tmp_path, scales):
    """``senet eval`` (single crop and multi-view) goes through the same loop guard as training: the
    worker's error ends the verb at once instead of waiting on workers that ignore SIGTERM."""
    bad = _folder_with_a_truncated_jpeg(tmp_path / "d", "val")
    proc = _senet("eval", "--model", "resnet20_cifar", "--data", f"imagefolder:{tmp_path / 'd'}", "--strict",
                  "--workers", "2", "--batch-size", "2", "--crop", "32", "--no-progress", "--device", "cpu",
                  *(scales or ["--resize", "32"]))  # fmt: skip
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr[-3000:]
    assert f"unreadable image {bad}" in err[0]


def test_an_error_without_strict_mid_epoch_ends_the_run_with_its_workers(tmp_path):
    """Without --strict the error comes from the main process while the (default two) workers still run:
    a training batch whose every image is unreadable. The run ends at once, with its one line."""
    _folder_with_a_truncated_jpeg(tmp_path / "d")
    for f in (tmp_path / "d" / "train").rglob("*.jpg"):  # every training image unreadable
        f.write_bytes(f.read_bytes()[:100])
    proc = _senet(*IMAGEFOLDER_RUN, "--data", f"imagefolder:{tmp_path / 'd'}", "--out", str(tmp_path / "r"))
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr[-3000:]
    assert "a whole batch of 4 images was unreadable" in err[0]
    assert not (tmp_path / "r").exists()


def test_a_non_finite_stop_with_data_loader_workers_ends_the_run(tmp_path):
    proc = _senet("train", "--model", "resnet20_cifar", "--data", "synthetic", "--lr", "1e12", "--epochs", "1",
                  "--max-batches", "3", "--workers", "2", "--no-progress", "--no-tensorboard", "--device", "cpu",
                  "--out", str(tmp_path / "r"))  # fmt: skip
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and "non-finite" in err[0], proc.stderr[-3000:]


def test_an_unreadable_image_without_strict_is_skipped_and_the_run_ends(tmp_path):
    _folder_with_a_truncated_jpeg(tmp_path / "d")
    proc = _senet(*IMAGEFOLDER_RUN, "--data", f"imagefolder:{tmp_path / 'd'}", "--out", str(tmp_path / "r"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 unreadable images skipped" in proc.stdout and (tmp_path / "r" / "summary.json").exists()


START_UP_RUN = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--epochs", "1", "--max-batches", "1",
                "--workers", "0", "--no-progress", "--no-tensorboard"]  # fmt: skip


def test_ctrl_c_while_the_run_is_built_is_exit_130_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """A script's background job starts with SIGINT ignored; the run still honours it from its start
    (it used to be lost before the first step: the run trained to the end and exited 0)."""
    import signal

    from senet.engine import state as S

    build = S.build

    def interrupted(*a, **kw):  # the signal arrives while data and model are being built
        os.kill(os.getpid(), signal.SIGINT)
        return build(*a, **kw)

    monkeypatch.setattr(S, "build", interrupted)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        rc = main([*START_UP_RUN, "--out", str(tmp_path / "r")])
    finally:
        signal.signal(signal.SIGINT, previous)
    out, err = capsys.readouterr()
    assert rc == 130 and "Traceback" not in err and "start-up" in out, (out, err)
    assert not (tmp_path / "r").exists()


def test_ctrl_c_while_the_verb_loads_is_exit_130_when_sigint_was_ignored(tmp_path):
    """Before any verb runs (the parser imports torch): a SIGINT to a process that started with it ignored
    is still Ctrl-C, exit 130 without a traceback (it used to be lost and the verb ran to its end)."""
    import subprocess
    import sys

    code = (
        "import os, signal, sys\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's background job starts\n"
        "import senet.cli as cli\n"
        "build = cli.build_parser\n"
        "def build_after_sigint():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    return build()\n"
        "cli.build_parser = build_after_sigint\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    cmd = [sys.executable, "-c", code, *START_UP_RUN, "--out", str(tmp_path / "r")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, (proc.returncode, proc.stderr[-3000:])
    assert not (tmp_path / "r").exists()


# SIGTERM while the run is built: tests/bad_inputs.py's STOPS table (exit 143, nothing left).


def test_hidden_folders_and_files_in_an_image_folder_are_skipped(tmp_path):
    """A notebook's .ipynb_checkpoints (with an image copy in it) and macOS's ._ files are no classes and no
    images: the classes are the visible folders, the same in train/ and val/."""
    from PIL import Image

    from senet import data as D

    for split in ("train", "val"):
        for c in ("cat", "dog", ".ipynb_checkpoints"):
            d = tmp_path / split / c
            d.mkdir(parents=True)
            Image.new("RGB", (12, 12), (10, 100, 200)).save(d / "0.png")
        (tmp_path / split / "cat" / "._0.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
        (tmp_path / split / "dog" / ".hidden").mkdir()
        Image.new("RGB", (12, 12)).save(tmp_path / split / "dog" / ".hidden" / "1.png")
    (tmp_path / "val" / ".DS_Store_dir").mkdir()  # in val/ only: would make the two class lists differ
    train, val, classes, _ = D.build(
        f"imagefolder:{tmp_path}", D.Views("none", 12, eval_resize=12, eval_crop=12), strict=True
    )
    assert classes == ["cat", "dog"]
    assert len(train) == len(val) == 2
    assert [train[i][1] for i in range(2)] == [0, 1]  # strict: the AppleDouble file was never read


# ---- every verb's outputs: written to a temporary beside the target, then renamed ---------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    senet.train(**TINY, out=str(out))
    return out


def _renames_fail(monkeypatch):
    """senet.core.io's rename fails (a full disk, a crash just before it): a writer that wrote the target itself
    would have changed it by then."""
    import types

    import senet.core.io

    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    proxy = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    proxy.replace = replace
    monkeypatch.setattr(senet.core.io, "os", proxy)


@pytest.mark.parametrize(
    "argv,target",
    [
        (["convert", "--model", "resnet20_cifar", "{weights}", "{tmp}/w.safetensors"], "w.safetensors"),
        (["export", "resnet20_cifar", "--format", "torchscript", "--out", "{tmp}/m.pt"], "m.pt"),
        (["report", "{run}", "--out", "{tmp}/r.html"], "r.html"),
        (
            ["bench", "--models", "resnet20_cifar", "--size", "32", "--batch-size", "1", "--warmup", "1"]
            + ["--iters", "2", "--threads", "1", "--output", "{tmp}/b.json"],
            "b.json",
        ),
        (
            ["excitations", "--model", "se_resnet20_cifar", "--data", "synthetic", "--samples", "1"]
            + ["--classes", "class0,class1", "--out", "{tmp}/ex"],
            "ex/excitations.json",
        ),
        (["train", *sum(([f"--{k}", str(v)] for k, v in TINY.items() if k in ("model", "data")), [])]
         + ["--epochs", "1", "--max-batches", "1", "--batch-size", "8", "--workers", "0", "--no-progress"]
         + ["--no-tensorboard", "--out", "{tmp}/r"], None),
    ],
    ids=["convert", "export", "report", "bench", "excitations", "train"],
)  # fmt: skip
def test_every_verb_writes_through_a_temporary_and_a_rename(
    argv, target, finished_run, tmp_path, monkeypatch, capsys
):
    """A failed write leaves the old file as it was and no temporary beside it (ONNX export and quantize's
    .pt2/.onnx go through the same io.atomic_write; see the next test for the quantized model)."""
    names = {
        "tmp": str(tmp_path),
        "run": str(finished_run),
        "weights": str(finished_run / "model.safetensors"),
    }
    if target is not None:
        (tmp_path / target).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / target).write_bytes(b"old")
    _renames_fail(monkeypatch)
    assert main([a.format(**names) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "no space left on the device" in err, err
    if target is not None:
        assert (tmp_path / target).read_bytes() == b"old"
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_a_quantized_model_is_written_through_a_temporary(tmp_path, monkeypatch):
    from senet.deploy.quantize import DeployedModel

    out = tmp_path / "q.onnx"
    out.write_bytes(b"old")
    _renames_fail(monkeypatch)
    with pytest.raises(OSError):
        DeployedModel("ort", None, 32, b"new onnx bytes").save(out)
    assert out.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["q.onnx"]
