"""torchrun with 2 processes (gloo on CPU) matches 1 process with the same global batch, to round-off."""

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import senet

ARGS = [
    "--model",
    "resnet20_cifar",
    "--data",
    "synthetic",
    "--batch-size",
    "16",
    "--epochs",
    "2",
    "--max-batches",
    "4",
    "--workers",
    "0",
    "--no-progress",
    "--no-tensorboard",
    "--deterministic",
    "--lr",
    "0.05",
    "--device",
    "cpu",  # gloo on CPU, also where a GPU is present (2 ranks need 2 GPUs)
]


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
DIGITS = [a if a != "synthetic" else "digits" for a in ARGS]  # random shifts, seeded per image


def _torchrun(out, *extra):
    cmd = [*TORCHRUN, "-m", "senet", "train", *DIGITS, "--out", str(out), *extra]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]


# Its tests are in xdist_group 'distributed-full': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def full(tmp_path_factory):
    """One uninterrupted 2-rank run, shared by the tests below."""
    out = tmp_path_factory.mktemp("ddp") / "full"
    _torchrun(out)
    return out


@pytest.mark.xdist_group("distributed-full")
def test_two_process_torchrun_matches_one_process(full, tmp_path):
    # 2 ranks x micro-batch 8 (4 micro-batches each per epoch)  vs  1 process x 2 accumulation steps of 8.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = senet.train(
            model="resnet20_cifar",
            data="digits",
            batch_size=16,
            epochs=2,
            max_batches=8,
            accum_steps=2,
            workers=0,
            progress=False,
            tensorboard=False,
            deterministic=True,
            lr=0.05,
            device="cpu",
            out=str(tmp_path / "one"),
        )
    finally:
        torch.set_num_threads(n)
    ddp = json.loads((full / "summary.json").read_text())
    assert ddp["world_size"] == 2 and ddp["global_step"] == one["global_step"] == 8
    a, b = (
        load_file(full / "model.safetensors"),
        load_file(tmp_path / "one" / "model.safetensors"),
    )
    params = dict(senet.create_model("resnet20_cifar", num_classes=10).named_parameters())
    # Parameters agree to round-off. BatchNorm running statistics do not: DDP keeps rank 0's (as torch does).
    for k in params:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=k)
    assert ddp["top1_error"] == pytest.approx(one["top1_error"], abs=2.5)  # eval uses the BN statistics
    assert only_rank0_wrote(full)


def only_rank0_wrote(out):
    return sorted(p.name for p in out.iterdir()) == sorted(
        [
            "checkpoint_best.pt",
            "checkpoint_last.pt",
            "config.json",
            "curves.png",
            "metrics.csv",
            "model.safetensors",
            "summary.json",
        ]
    )


@pytest.mark.xdist_group("distributed-full")
def test_two_process_run_stopped_mid_epoch_resumes_exactly(full, tmp_path):
    """torchrun, 2 ranks (gloo): stopped mid-epoch and resumed, the run ends as the uninterrupted one:
    the same weights, and the same per-epoch train loss (each rank's partial sums restored, not rank 0's
    twice)."""
    _torchrun(tmp_path / "cut", "--max-steps", "3")  # mid-epoch 1 (4 steps per epoch)
    _torchrun(tmp_path / "cut", "--resume", "auto")
    a, b = (load_file(d / "model.safetensors") for d in (full, tmp_path / "cut"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows = [(d / "metrics.csv").read_text().splitlines() for d in (full, tmp_path / "cut")]
    assert [r.split(",")[:3] for r in rows[0]] == [r.split(",")[:3] for r in rows[1]]


def test_two_processes_match_one_with_ema_and_mixup(tmp_path):
    """EMA, MixUp and CutMix on: 2 ranks x micro-batch 8 match 1 process x 2 accumulation steps of 8 (the
    mixing is drawn per place in the global order, not per rank)."""
    sets = ["--set", "ema_decay=0.9", "--set", "mixup_alpha=0.2", "--set", "cutmix_alpha=1.0"]
    cmd = [*TORCHRUN, "-m", "senet", "train", *DIGITS, *sets, "--out", str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        senet.train(model="resnet20_cifar", data="digits", batch_size=16, epochs=2, max_batches=8, accum_steps=2,
                    workers=0, progress=False, tensorboard=False, deterministic=True, lr=0.05, device="cpu",
                    out=str(tmp_path / "one"), overrides={"ema_decay": 0.9, "mixup_alpha": 0.2, "cutmix_alpha": 1.0})  # fmt: skip
    finally:
        torch.set_num_threads(n)
    params = dict(senet.create_model("resnet20_cifar", num_classes=10).named_parameters())
    for f in ("model.safetensors", "model_ema.safetensors"):
        a, b = load_file(tmp_path / "ddp" / f), load_file(tmp_path / "one" / f)
        for k in params:
            torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5, msg=f"{f}: {k}")


@pytest.mark.parametrize("ranks", ["2"])  # two ranks: the other rank must end too
def test_an_error_in_a_data_loader_worker_ends_every_rank(tmp_path, ranks):
    """--strict and an unreadable image under torchrun, with data-loader workers: the rank that reads it
    prints its one-line error and every process ends within seconds (it used to wait on its workers)."""
    from test_reliability import IMAGEFOLDER_RUN, _folder_with_a_truncated_jpeg

    bad = _folder_with_a_truncated_jpeg(tmp_path / "d")
    cmd = [*TORCHRUN[:-1], ranks, "-m", "senet", *IMAGEFOLDER_RUN, "--data", f"imagefolder:{tmp_path / 'd'}",
           "--strict", "--workers", "1", "--out", str(tmp_path / "r")]  # fmt: skip
    proc = _run_as_group(cmd, timeout=90)
    ours = [line for line in proc.stderr.splitlines() if line.startswith("senet train:")]
    assert proc.returncode != 0 and len(ours) == 1, proc.stderr[-3000:]
    assert ours[0].startswith(f"senet train: error: unreadable image {bad}")
    assert not (tmp_path / "r").exists()


def _run_as_group(cmd, timeout):
    """``subprocess.run`` in a session of its own: on a timeout torchrun and every rank it started are
    killed together (killing torchrun alone would leave its ranks running after the test)."""
    import os
    import signal

    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} did not end within {timeout} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)
