"""Checkpoints: atomic writes, weights_only loading, malicious pickles refused without running them."""

import os
import pickle

import pytest
import torch

import senet
from senet import CheckpointError
from senet.cli import main
from senet.core.io import atomic_write
from senet.engine import checkpoint as ckpt


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['SENET_PWNED']}",))


def test_malicious_pickle_is_refused_and_never_run(tmp_path, monkeypatch, capsys):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("SENET_PWNED", str(marker))
    evil = tmp_path / "checkpoint_last.pt"
    torch.save({"model": Evil()}, evil)  # torch.save pickles: this file runs `touch` when unpickled
    with pytest.raises(CheckpointError, match="refused"):
        ckpt.load(evil)
    assert ckpt.find_resume(tmp_path)[0] is None
    assert (
        main(
            [
                "eval",
                "--model",
                "resnet20_cifar",
                "--checkpoint",
                str(evil),
                "--data",
                "synthetic",
                "--workers",
                "0",
            ]
        )
        == 2
    )
    assert "refused" in capsys.readouterr().err
    assert not marker.exists()
    with open(tmp_path / "raw.pkl", "wb") as f:
        pickle.dump(Evil(), f)
    with pytest.raises(CheckpointError):
        ckpt.load(tmp_path / "raw.pkl")
    assert not marker.exists()


def test_truncated_and_foreign_files_are_refused(tmp_path):
    p = tmp_path / "c.pt"
    ckpt.save({"format": ckpt.FORMAT, "model": {"w": torch.ones(3)}, "global_step": 1}, p)
    assert ckpt.load(p)["global_step"] == 1
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="truncated"):
        ckpt.load(p)
    torch.save({"w": torch.ones(2)}, tmp_path / "plain.pt")
    with pytest.raises(CheckpointError, match="not a senet training checkpoint"):
        ckpt.load(tmp_path / "plain.pt")
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)  # the unpickler trips on it
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint"):
        ckpt.load(tmp_path / "passwd")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    p = tmp_path / "x.pt"
    ckpt.save({"a": torch.zeros(1)}, p)
    before = p.read_bytes()

    def boom(tmp):
        open(tmp, "wb").write(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(p, boom)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["x.pt"]  # no temporary left behind


def test_rng_state_round_trips_through_weights_only(tmp_path):
    s = ckpt.rng_state()
    ckpt.save({"rng": s}, tmp_path / "r.pt")
    a = torch.rand(3)
    ckpt.set_rng_state(torch.load(tmp_path / "r.pt", weights_only=True)["rng"])
    assert torch.equal(a, torch.rand(3))


def test_written_files_get_the_permissions_of_any_file_the_user_writes(tmp_path):
    """Checkpoints, weights and exports are written through one helper: mode 0666 minus the umask."""
    import os
    import stat

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    expected = stat.S_IMODE(plain.stat().st_mode)
    ckpt.save({"a": torch.zeros(1)}, tmp_path / "c.pt")
    senet.save_weights({"a": torch.zeros(1)}, tmp_path / "w.safetensors")
    for name in ("c.pt", "w.safetensors"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == expected, name
