"""Exact resume on CPU (bitwise-identical weights) and SIGTERM mid-epoch (a loadable checkpoint)."""

import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

import senet
from senet import checkpoint as ckpt

# digits: real augmentation (random shifts) so the RNG state must be restored for an exact resume.
SMALL = dict(
    model="se_resnet20_cifar",
    data="digits",
    batch_size=16,
    epochs=2,
    max_batches=5,
    workers=0,
    progress=False,
    tensorboard=False,
    deterministic=True,
    seed=3,
)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread: 2 cores are shared, and spinning OpenMP threads slow a loaded machine 10-50x."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_resume_after_interruption_is_bitwise_identical(tmp_path):
    full = senet.train(**SMALL, out=str(tmp_path / "full"))
    stopped = senet.train(**SMALL, out=str(tmp_path / "cut"), max_steps=3)  # mid-epoch 1
    assert stopped["status"] == "stopped"
    state = ckpt.load(tmp_path / "cut" / "checkpoint_last.pt")
    assert (state["epoch"], state["step_in_epoch"]) == (0, 3)
    resumed = senet.train(**SMALL, out=str(tmp_path / "cut"), resume="auto")
    a, b = (
        load_file(tmp_path / "full" / "model.safetensors"),
        load_file(tmp_path / "cut" / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["top1_error"] == full["top1_error"]
    rows = (tmp_path / "cut" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # no duplicated epochs


def test_sigterm_mid_epoch_leaves_a_loadable_checkpoint(tmp_path):
    out = tmp_path / "term"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "senet",
        "train",
        "--model",
        "resnet20_cifar",
        "--data",
        "synthetic",
        "--batch-size",
        "4",
        "--epochs",
        "3",
        "--workers",
        "0",
        "--no-progress",
        "--no-tensorboard",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    while not (out / "config.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # a few steps into epoch 1 of 128 steps
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert "stopped at epoch 1" in output
    state = ckpt.load(out / "checkpoint_last.pt")
    assert state["epoch"] == 0 and 0 < state["step_in_epoch"] < 128
    senet.create_model("resnet20_cifar", num_classes=10, checkpoint=out / "checkpoint_last.pt")
    assert not (out / "summary.json").exists()
