"""Today's training pieces as recipe fields: --set, AdamW/RMSprop, no decay on BN/bias, clipping, MixUp/CutMix,
EMA; each off by default."""

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

import senet
from senet.cli import main
from senet.engine.modern import batch_mixer, ema_model, make_optimizer, split_norm_and_bias
from senet.recipes import get_recipe, parse_sets, with_sets

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
