"""Every bad input of ``tests/bad_inputs.py``: exit 2, one line on stderr naming the problem, no traceback,
and nothing changed: the prepared run and inputs hash the same, and no file appears where the command
was pointed (a refused or failed start leaves nothing behind)."""

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch

import bad_inputs as B
import senet
from senet.cli import main


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    base = tmp_path_factory.mktemp("prepared")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    tiny = dict(
        data="synthetic", batch_size=32, epochs=1, max_batches=2, workers=0, progress=False, tensorboard=False
    )
    try:
        senet.train(model="resnet20_cifar", out=str(base / "run"), **tiny)
        senet.train(
            model="se_resnet20_cifar", out=str(base / "se_run"), model_options={"squeeze": "max"}, **tiny
        )
    finally:
        torch.set_num_threads(n)
    shutil.copytree(base / "run", base / "nockpt")  # a finished run whose checkpoints were deleted
    for f in ("checkpoint_last.pt", "checkpoint_best.pt"):
        (base / "nockpt" / f).unlink()
    (base / "unreadable").mkdir()
    (base / "unreadable" / "checkpoint_last.pt").write_bytes(os.urandom(300))
    (base / "bare").mkdir()
    (base / "bare" / "metrics.csv").write_text("epoch,train_loss\n1,2.3\n")
    (base / "text.txt").write_text("not a checkpoint\n")
    _hand_edited_cards(base)
    from PIL import Image

    for split in ("train", "val"):  # an image folder of one class: nothing to tell apart
        (base / "folder" / split / "only").mkdir(parents=True)
        Image.new("RGB", (40, 40), (90, 120, 30)).save(base / "folder" / split / "only" / "a.png")
    return {
        "run": base / "run",
        "se_run": base / "se_run",
        "ck": base / "run" / "checkpoint_last.pt",
        "weights": base / "run" / "model.safetensors",
        "text": base / "text.txt",
        "unreadable": base / "unreadable",
        "bare": base / "bare",
        "nockpt": base / "nockpt",
        "badcard": base / "badcard.safetensors",
        "dupcard": base / "dupcard.safetensors",
        "shortcard": base / "shortcard.safetensors",
        "folder": base / "folder",
        "base": base,
    }


def _hand_edited_cards(base: Path) -> None:
    """The run's weights with a card edited by hand: not JSON, a class name repeated, 3 names of 10."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    src = str(base / "run" / "model.safetensors")
    sd = load_file(src)
    with safe_open(src, "pt") as f:
        meta = f.metadata()
    card = json.loads(meta["senet_card"])
    for name, text in (
        ("badcard", meta["senet_card"][:-5]),
        ("dupcard", json.dumps({**card, "classes": ["same"] * 10})),
        ("shortcard", json.dumps({**card, "classes": card["classes"][:3]})),
    ):
        save_file(sd, str(base / f"{name}.safetensors"), metadata={**meta, "senet_card": text})


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _one_line_error(rc, capsys, expected):
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc == 2, (rc, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1, lines
    assert re.search(expected, lines[0]), (expected, lines[0])


@pytest.mark.parametrize("kind,argv,expected", B.CLI, ids=[f"{i}-{c[1][0]}" for i, c in enumerate(B.CLI)])
def test_cli(kind, argv, expected, prepared, tmp_path, capsys, monkeypatch):
    names = {k: str(v) for k, v in prepared.items()} | {"tmp": str(tmp_path)}
    while argv[0].startswith("env:"):  # "env:NAME=VALUE" before the verb: the variable set for this case
        name, _, value = argv[0][len("env:") :].partition("=")
        monkeypatch.setenv(name, value.format(**names))
        argv = argv[1:]
    before = _hashes(prepared["base"])
    rc = main([a.format(**names) for a in argv])
    _one_line_error(rc, capsys, expected)
    assert _hashes(prepared["base"]) == before, "a prepared file changed"
    assert not any(tmp_path.iterdir()), f"left behind: {list(tmp_path.iterdir())}"


@pytest.mark.parametrize("kind,argv,name,code,expected", B.STOPS, ids=[s[2] for s in B.STOPS])
def test_stop(kind, argv, name, code, expected, tmp_path):
    """In a fresh process (a signal handler is per process): the signal arrives during start-up."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from senet.engine import state as S\n"
        "from senet.cli import main\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a script's background job starts\n"
        "build = S.build\n"
        "def build_then_signal(*a, **kw):\n"
        f"    os.kill(os.getpid(), signal.{name})\n"
        "    return build(*a, **kw)\n"
        "S.build = build_then_signal\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    args = [a.format(tmp=tmp_path) for a in argv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == code, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert re.search(expected, proc.stdout), proc.stdout
    assert not any(tmp_path.iterdir()), f"left behind: {list(tmp_path.iterdir())}"


@pytest.mark.parametrize("kind,call,expected", B.LIBRARY, ids=[c[1].split("(")[0] for c in B.LIBRARY])
def test_library(kind, call, expected, tmp_path):
    with pytest.raises(senet.SenetError, match=expected) as info:
        eval(call, {"senet": senet, "TMP": str(tmp_path)})
    assert isinstance(info.value, ValueError | TypeError)
    if "must be a string" in expected or "True" in call:
        assert isinstance(info.value, TypeError)  # a wrong type is also a TypeError


def test_the_reliability_page_shows_the_tables():
    """docs/reliability.md's table is generated from the tables above (SENET_REGEN_DOCS=1 rewrites it)."""
    from docblock import check_block

    check_block("docs/reliability.md", "bad-input-table", B.markdown_table())
