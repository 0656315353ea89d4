"""Exact resume on CPU (bitwise-identical weights) and SIGTERM mid-epoch (a loadable checkpoint)."""

import os
import re
import select
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

import senet
from senet.cli import main
from senet.engine import checkpoint as ckpt

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
    # 2 data-loading processes (the default): each item's augmentation is its own seed's (senet.data.Seeded)
    run = {**SMALL, "workers": 2}
    full = senet.train(**run, out=str(tmp_path / "full"))
    stopped = senet.train(**run, out=str(tmp_path / "cut"), max_steps=3)  # mid-epoch 1
    assert stopped["status"] == "stopped"
    state = ckpt.load(tmp_path / "cut" / "checkpoint_last.pt")
    assert (state["epoch"], state["step_in_epoch"]) == (0, 3)
    resumed = senet.train(**run, out=str(tmp_path / "cut"), resume="auto")
    a, b = (
        load_file(tmp_path / "full" / "model.safetensors"),
        load_file(tmp_path / "cut" / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed["top1_error"] == full["top1_error"]
    cut, whole = ((tmp_path / d / "metrics.csv").read_text().splitlines() for d in ("cut", "full"))
    assert len(cut) == 3  # no duplicated epochs
    train_loss = [[r.split(",")[:3] for r in rows[1:]] for rows in (cut, whole)]
    assert train_loss[0] == train_loss[1]  # the stopped epoch's partial sums were counted once


def _read_until(proc, pattern: bytes, timeout: float) -> bytes:
    """Read the child's merged output until ``pattern`` (a regex) shows up; fail on exit or timeout."""
    seen, deadline = b"", time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, seen):
                return seen
        elif proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"never saw {pattern!r}; output so far: {seen[-2000:]!r}")


def test_sigterm_mid_epoch_then_the_same_command_resumes_bitwise(tmp_path):
    """SIGTERM mid-epoch saves a checkpoint and exits 143; the same command with --resume auto ends with the
    weights of an uninterrupted run (default --workers: 2 data-loading processes)."""
    out = tmp_path / "term"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "senet", "train", "--model", "se_resnet20_cifar", "--data", "digits"]
    cmd += ["--batch-size", "16", "--epochs", "1", "--max-batches", "30", "--seed", "3", "--deterministic"]
    cmd += ["--no-tensorboard", "--out", str(out)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    # The progress bar says when the epoch is under way (a few of its 30 steps done): no sleeps
    # that a fast or a slow machine could get wrong.
    head = _read_until(proc, rb"epoch 1/1:[^\r]*\| +[1-9][0-9]*/30", timeout=120)
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=120)
    output = (head + rest).decode(errors="replace")
    assert proc.returncode == 128 + signal.SIGTERM, output  # saved and stopped: not "done"
    assert "stopped at epoch 1" in output, output[-2000:]
    state = ckpt.load(out / "checkpoint_last.pt")
    assert state["epoch"] == 0 and 0 < state["step_in_epoch"] < 30
    senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=out / "checkpoint_last.pt")
    assert not (out / "summary.json").exists()
    # The same command, in this process (the signal above is what needed a process of its own).
    assert main([*cmd[3:], "--resume", "auto", "--no-progress"]) == 0
    full = tmp_path / "full"
    senet.train(
        model="se_resnet20_cifar",
        data="digits",
        batch_size=16,
        epochs=1,
        max_batches=30,
        seed=3,
        deterministic=True,
        progress=False,
        tensorboard=False,
        out=str(full),
    )
    a, b = load_file(out / "model.safetensors"), load_file(full / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
