"""Today's training pieces as recipe fields: --set, AdamW/RMSprop, no decay on BN/bias, clipping, MixUp/CutMix,
EMA; each off by default."""

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import senet
from senet.cli import main
from senet.engine.modern import batch_mixer, ema_model, make_optimizer, split_norm_and_bias
from senet.engine.recipes import get_recipe, parse_sets, with_sets

QUIET = dict(workers=0, progress=False, tensorboard=False)


def test_set_fields_by_name_with_their_allowed_values(tmp_path, capsys):
    assert parse_sets(
        ["ema_decay=0.9998", "optimizer=adamw", "norm-weight-decay=0", "crop_scale=0.25,1"]
    ) == {
        "ema_decay": 0.9998,
        "optimizer": "adamw",
        "norm_weight_decay": 0.0,
        "crop_scale": (0.25, 1.0),
    }
    base = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--out", str(tmp_path / "r")]
    for item, message in (
        ("ema_decai=0.9", "did you mean ema_decay?"),
        ("optimizer=adam", "allowed are sgd, adamw, rmsprop"),
        ("mixup_alpha=lots", "mixup_alpha takes a number"),
        ("ema_decay=1", r"must be in \[0, 1\)"),
        ("name=x", "KEY one of"),
    ):
        assert main([*base, "--set", item]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and __import__("re").search(message, err), err
    assert (
        main([*base, "--recipe", "mobile", "--set", "warmup_epochs=2"]) == 2
    )  # plateau: refused, not ignored
    assert "cannot follow a warm-up" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_optimizers_and_no_decay_on_norm_and_bias():
    model = senet.create_model("resnet20_cifar")
    sgd = make_optimizer(model, get_recipe("cifar-resnet"), 0.1, 1e-4)
    assert type(sgd) is torch.optim.SGD and len(sgd.param_groups) == 1  # the paper's recipes: as always
    adamw = make_optimizer(model, with_sets(get_recipe("cifar-resnet"), {"optimizer": "adamw"}), 1e-3, 0.05)
    assert type(adamw) is torch.optim.AdamW
    r = with_sets(get_recipe("cifar-resnet"), {"norm_weight_decay": 0.0})
    opt = make_optimizer(model, r, 0.1, 1e-2)
    norm, rest = split_norm_and_bias(model)
    assert [g["weight_decay"] for g in opt.param_groups] == [1e-2, 0.0] and len(norm) == 19 * 2 + 1
    before = {id(p): p.detach().clone() for p in model.parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)  # only weight decay moves a parameter
    opt.step()
    assert all(torch.equal(p, before[id(p)]) for p in norm)  # BN weights and biases: no decay
    assert all(not torch.equal(p, before[id(p)]) for p in rest)


def test_ema_is_the_closed_form_average():
    model = nn.Linear(3, 1)
    ema = ema_model(model, 0.9)
    values = [torch.full_like(model.weight, v) for v in (1.0, 2.0, 4.0, -1.0)]
    expected = None
    for w in values:
        with torch.no_grad():
            model.weight.copy_(w)
        ema.update_parameters(model)
        expected = w.clone() if expected is None else 0.9 * expected + 0.1 * w  # the first update copies
    torch.testing.assert_close(ema.module.weight, expected)
    assert ema_model(model, 0.0) is None


def test_mixup_and_cutmix_targets_are_convex_combinations():
    torch.manual_seed(0)
    x, y = torch.rand(8, 3, 16, 16), torch.tensor([0, 1, 2, 3, 4, 5, 6, 7])
    mixup = batch_mixer(with_sets(get_recipe("digits"), {"mixup_alpha": 0.4}), 10)
    mx, soft = mixup(x, y)
    assert soft.shape == (8, 10) and torch.allclose(soft.sum(1), torch.ones(8))
    lam = soft[0, 0].item()  # MixUp pairs each image with the previous one (roll by 1), one lambda per batch
    torch.testing.assert_close(mx, lam * x + (1 - lam) * x.roll(1, 0))
    assert ((soft > 0).sum(1) <= 2).all() and (soft >= 0).all() and (soft <= 1).all()
    both = batch_mixer(with_sets(get_recipe("digits"), {"mixup_alpha": 0.2, "cutmix_alpha": 1.0}), 10)
    for _ in range(4):
        _, soft = both(x, y)
        assert torch.allclose(soft.sum(1), torch.ones(8)) and ((soft > 0).sum(1) <= 2).all()
    assert batch_mixer(get_recipe("digits"), 10) is None


def test_clipping_holds_the_gradient_norm(tmp_path, monkeypatch):
    norms = []
    step = torch.optim.SGD.step

    def recording(self, *a, **k):
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        norms.append(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads])).item())
        return step(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", recording)
    run = dict(model="resnet20_cifar", data="synthetic", epochs=1, max_batches=3, batch_size=16, **QUIET)
    senet.train(**run, out=str(tmp_path / "plain"))
    free, norms[:] = list(norms), []
    senet.train(**run, out=str(tmp_path / "clip"), overrides={"clip_grad_norm": 0.05})
    assert max(free) > 0.05 and all(n <= 0.05 * (1 + 1e-4) for n in norms), (free, norms)


def test_resume_with_ema_and_mixup_is_exact(tmp_path):
    run = dict(model="resnet20_cifar", data="synthetic", epochs=2, max_batches=4, batch_size=16, **QUIET,
               overrides={"ema_decay": 0.9, "mixup_alpha": 0.2, "cutmix_alpha": 1.0})  # fmt: skip
    full = senet.train(**run, out=str(tmp_path / "full"))
    senet.train(**run, out=str(tmp_path / "cut"), max_steps=3)  # mid-epoch 1
    cut = senet.train(**run, out=str(tmp_path / "cut"), resume="auto")
    for f in ("model.safetensors", "model_ema.safetensors"):
        a, b = load_file(tmp_path / "full" / f), load_file(tmp_path / "cut" / f)
        assert all(torch.equal(a[k], b[k]) for k in a), f
    assert full["ema_top1_error"] == cut["ema_top1_error"] and "ema_top1_error" in full
    with pytest.raises(senet.SenetError, match="other settings: overrides"):
        senet.train(**{**run, "overrides": {"ema_decay": 0.99}}, out=str(tmp_path / "cut"), resume="auto")


def test_stochastic_depth_is_identity_in_eval_and_drops_whole_branches_in_training():
    model = senet.create_model("se_resnet20_cifar", drop_path_rate=0.4)
    units = [m for m in model.modules() if getattr(m, "drop_path", None) is not None]
    rates = [u.drop_path.p for u in units]
    assert len(rates) == 9 and rates == pytest.approx([0.4 * i / 8 for i in range(9)])  # linear from 0
    plain = senet.create_model("se_resnet20_cifar")
    plain.load_state_dict(model.state_dict())  # same keys: stochastic depth has no parameters
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), plain.eval()(x))  # identity in eval mode
    sd = units[-1].drop_path.train()
    branch = torch.ones(20000, 8, 2, 2)
    out = sd(branch)
    dropped = (out.flatten(1) == 0).all(1).float().mean().item()
    assert dropped == pytest.approx(0.4, abs=0.02)  # whole rows (samples) at the rate
    kept = out.flatten(1)[(out.flatten(1) != 0).any(1)]
    torch.testing.assert_close(kept, torch.full_like(kept, 1 / 0.6))  # the rest rescaled
    with pytest.raises(senet.SenetError, match="drop_path_rate must be in"):
        senet.create_model("resnet20_cifar", drop_path_rate=1.0)


def test_augmentation_policies_and_named_modern_recipes():
    from torchvision.transforms import v2

    from senet import data as D

    tf = D.train_transform(D.Views("imagenet", 32, auto_augment="trivialaugment", random_erasing=0.25), (0.5,) * 3,
                            (0.5,) * 3)  # fmt: skip
    kinds = [type(t) for t in tf.transforms]
    assert v2.TrivialAugmentWide in kinds and v2.RandomErasing in kinds
    assert kinds.index(v2.TrivialAugmentWide) < kinds.index(v2.Normalize) < kinds.index(v2.RandomErasing)
    tv = get_recipe("torchvision-v2")
    assert (tv.epochs, tv.lr, tv.batch_size, tv.norm_weight_decay, tv.auto_augment) == (600, 0.5, 1024, 0.0,
                                                                                       "trivialaugment")  # fmt: skip
    assert get_recipe("rsb-a3").optimizer == "adamw" and "Assumed" in get_recipe("rsb-a3").source
    summary = senet.train(model="se_resnet20_cifar", data="synthetic", epochs=1, max_batches=2, batch_size=16,
                          recipe="torchvision-v2", **QUIET, out=str(__import__("tempfile").mkdtemp()),
                          overrides={"epochs": 1, "warmup_epochs": 0})  # fmt: skip
    assert summary["status"] == "finished" and "ema_top1_error" in summary


BEFORE = "4562063"  # the engine before today's training pieces


# Short runs of two paper recipes, a cosine and a multi-step one.
SHORT_RUNS = dict(model="se_resnet20_cifar", data="digits", epochs=2, max_batches=3, batch_size=16, workers=0,
                  progress=False, tensorboard=False)  # fmt: skip
RECIPES = ("digits", "cifar-resnet")


def _short_runs_before(src: str, out: str) -> str:
    """The short runs on the engine found in ``src`` (a tree's src/), in a fresh interpreter; returns the file
    senet was imported from."""
    import subprocess
    import sys

    code = (
        f"import sys; sys.path.insert(0, {src!r}); import torch; torch.set_num_threads(1)\n"
        "import senet\n"
        f"for recipe in {RECIPES!r}:\n"
        f"    senet.train(**{SHORT_RUNS!r}, recipe=recipe, out={out!r} + '/' + recipe)\n"
        "print(senet.__file__)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=300
    )
    return proc.stdout.strip().splitlines()[-1]


def _short_runs_here(out: str) -> None:
    """The same runs on today's engine, in this process, on one thread as there."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for recipe in RECIPES:
            senet.train(**SHORT_RUNS, recipe=recipe, out=f"{out}/{recipe}")
    finally:
        torch.set_num_threads(n)


def test_todays_recipes_train_bitwise_as_before(tmp_path):
    """The paper's recipes (a cosine and a multi-step one), on the engine of before these pieces and on
    today's: the same weights, bit for bit."""
    import subprocess
    import tarfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    archive = tmp_path / "before.tar"
    try:
        subprocess.run(["git", "-C", str(root), "archive", "-o", str(archive), BEFORE, "src"], check=True,
                       capture_output=True, timeout=60)  # fmt: skip
    except (subprocess.CalledProcessError, FileNotFoundError):
        pytest.skip(f"commit {BEFORE} is not in this clone (a shallow clone): nothing to compare with")
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "before", filter="data")
    old_src = tmp_path / "before" / "src"
    ran = _short_runs_before(str(old_src), str(tmp_path / "old"))
    assert ran.startswith(str(old_src))  # the old engine ran
    _short_runs_here(str(tmp_path / "new"))
    for recipe in RECIPES:
        a, b = (load_file(tmp_path / d / recipe / "model.safetensors") for d in ("old", "new"))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), recipe


def test_the_warmup_curve_matches_its_formula():
    import math

    from senet.engine.state import make_scheduler

    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.4)
    recipe = with_sets(get_recipe("digits"), {"warmup_epochs": 3})  # then cosine over the other 5
    sched = make_scheduler(opt, recipe, epochs=8, lr=0.4)
    for e in range(8):
        want = 0.4 * (0.1 + 0.9 * e / 3) if e < 3 else 0.4 * (1 + math.cos(math.pi * (e - 3) / 5)) / 2
        assert opt.param_groups[0]["lr"] == pytest.approx(want), e
        opt.step()
        sched.step()
