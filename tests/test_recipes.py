"""Recipes (PAPER.md sec. 8) and TrainConfig validation."""

import pytest

from senet import SenetError, get_recipe, list_recipes
from senet.cli import main
from senet.core.distributed import DistEnv
from senet.engine import TrainConfig
from senet.engine.config import resolve


def test_paper_recipes_present_with_section_8_numbers():
    assert {"imagenet", "imagenet-ablation", "mobile", "cifar-resnet", "cifar-wrn", "cifar-shake"} <= set(
        list_recipes()
    )
    r = get_recipe("imagenet")
    assert (r.momentum, r.lr, r.ref_batch, r.epochs, r.step_epochs, r.gamma) == (0.9, 0.6, 1024, 100, 30, 0.1)
    assert r.lr_for(256) == pytest.approx(0.15)
    a = get_recipe("imagenet-ablation")
    assert a.se_bias is False and a.label_smoothing == 0.1 and a.schedule == "plateau"
    assert get_recipe("cifar-wrn").nesterov and get_recipe("cifar-shake").cutout == 16
    assert get_recipe("cifar-resnet").milestones == (0.5, 0.75)


def test_unknown_recipe_names_the_allowed_ones():
    with pytest.raises(SenetError, match="allowed: imagenet"):
        get_recipe("imagenett")


def test_resolve_scales_lr_with_global_batch_and_checks_divisibility():
    cfg = TrainConfig(model="resnet50", data="synthetic", recipe="imagenet", batch_size=256, accum_steps=2)
    _, r = resolve(cfg, DistEnv(0, 0, 4))
    assert r["lr"] == pytest.approx(0.15) and r["micro_batch"] == 32 and r["epochs"] == 100
    with pytest.raises(SenetError, match="not divisible"):
        resolve(cfg.replace(batch_size=100), DistEnv(0, 0, 3))


@pytest.mark.parametrize("bad", [dict(amp="fp8"), dict(epochs=0), dict(accum_steps=-1), dict(lr=0.0)])
def test_config_rejects_bad_values(bad):
    with pytest.raises(SenetError):
        TrainConfig(model="resnet20_cifar", **bad)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(SenetError, match="unknown training options"):
        TrainConfig.from_dict({"model": "resnet20_cifar", "epoch": 3})


def test_cli_recipes_and_unknown_recipe_exit_2(capsys):
    assert main(["recipes"]) == 0
    assert "cifar-shake" in capsys.readouterr().out
    assert main(["recipes", "nope"]) == 2
    assert "unknown recipe" in capsys.readouterr().err


def test_the_training_page_shows_every_recipe():
    """docs/training.md's recipe table is generated from the recipes (SENET_REGEN_DOCS=1 rewrites it)."""
    from docblock import check_block

    rows = ["| recipe | values | source | published (error %) |", "|---|---|---|---|"]
    rows += [
        f"| `{r.name}` | {r.describe()} | {r.source} | {r.published or '-'} |"
        for r in map(get_recipe, list_recipes())
    ]
    check_block("docs/training.md", "recipes-table", "\n".join(rows))


# A valid value for every field `senet recipes NAME` lists (and `senet train --set` takes), other than the
# digits recipe's own.
VALID_SETS = {
    "epochs": "3",
    "batch_size": "16",
    "lr": "0.05",
    "ref_batch": "64",
    "weight_decay": "0.001",
    "momentum": "0.8",
    "nesterov": "true",
    "schedule": "step",
    "step_epochs": "2",
    "milestones": "0.5,0.75",
    "gamma": "0.2",
    "plateau_patience": "0",
    "plateau_reductions": "2",
    "label_smoothing": "0.1",
    "class_balanced": "true",
    "se_bias": "false",
    "augment": "cifar",
    "crop_scale": "0.25,1",
    "crop_ratio": "0.5,2",
    "cutout": "8",
    "freeze_bn_epochs": "1",
    "warmup_epochs": "1",
    "optimizer": "rmsprop",
    "norm_weight_decay": "0",
    "clip_grad_norm": "1.5",
    "mixup_alpha": "0.2",
    "cutmix_alpha": "1",
    "ema_decay": "0.99",
    "auto_augment": "randaugment",
    "random_erasing": "0.25",
    "drop_path_rate": "0.1",
}


def _listed_fields(capsys, name="digits") -> dict[str, str]:
    assert main(["recipes", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    pairs = [line.strip().partition(" =") for line in lines if line.startswith("    ") and " =" in line]
    return {k: v.strip() for k, _, v in pairs}


def test_every_listed_field_has_a_valid_value_here(capsys):
    assert set(_listed_fields(capsys)) == set(VALID_SETS)


@pytest.mark.parametrize("key", sorted(VALID_SETS))
def test_every_listed_field_can_be_set(key, capsys):
    """`senet recipes digits` lists KEY = VALUE; both the listed value and another valid one go through
    `--set` into the run's recipe (lr and weight_decay once failed for every value)."""
    import dataclasses

    from senet.cli import build_parser
    from senet.commands.train import config_from_args

    listed = _listed_fields(capsys)[key]
    for text in (listed, VALID_SETS[key]):
        argv = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--recipe", "digits"]
        cfg = config_from_args(build_parser().parse_args([*argv, "--set", f"{key}={text}"]))
        recipe, _ = resolve(cfg, DistEnv())
        want = dataclasses.replace(get_recipe("digits"), **cfg.overrides)
        assert recipe == want and key in cfg.overrides
    assert getattr(recipe, key) != getattr(get_recipe("digits"), key)


def test_set_lr_and_weight_decay_reach_the_optimizer(tmp_path):
    """A real tiny run: `--set lr= --set weight_decay=` are the optimiser's and the run config's values."""
    import json

    from senet.cli import main as cli

    out = tmp_path / "r"
    argv = [
        "train",
        "--model",
        "resnet20_cifar",
        "--data",
        "synthetic",
        "--recipe",
        "digits",
        "--epochs",
        "1",
    ]
    argv += [
        "--batch-size",
        "32",
        "--max-batches",
        "1",
        "--workers",
        "0",
        "--no-progress",
        "--no-tensorboard",
    ]
    sets = ["--set", "lr=0.05", "--set", "weight_decay=0.001", "--set", "ref_batch=32"]
    assert cli([*argv, *sets, "--out", str(out)]) == 0
    saved = json.loads((out / "config.json").read_text())
    assert saved["recipe"]["lr"] == 0.05 and saved["recipe"]["weight_decay"] == 0.001
    assert saved["config"]["lr"] == pytest.approx(0.05) and saved["config"]["weight_decay"] == 0.001
    import torch

    state = torch.load(out / "checkpoint_last.pt", map_location="cpu", weights_only=False)
    groups = state["optimizer"]["param_groups"]
    assert {g["weight_decay"] for g in groups} == {0.001}
    assert all(g["initial_lr"] == pytest.approx(0.05) for g in groups)


# Fields with a flag of their own and a `--set`: (field, flag, bad values, good values).
FLAG_AND_SET = [
    ("epochs", "--epochs", ["0", "-1", "1.5", "x"], ["1", "7"]),
    ("batch_size", "--batch-size", ["0", "-8", "2.0"], ["8", "64"]),
    ("lr", "--lr", ["0", "-0.1", "nan", "inf", "1e300", "x"], ["0.05", "1e-5", "3"]),
    ("weight_decay", "--weight-decay", ["-1e-4", "nan", "inf", "x"], ["0", "5e-4"]),
    ("label_smoothing", "--label-smoothing", ["-0.1", "1", "1.5", "nan"], ["0", "0.1", "0.99"]),
]


def _outcome(argv, capsys):
    from senet.cli import build_parser
    from senet.commands.train import config_from_args

    try:
        config_from_args(build_parser().parse_args(argv))
        return "accepted"
    except SystemExit as e:  # argparse: not a number of the flag's type
        assert e.code == 2
    except SenetError as e:
        assert str(e) and "\n" not in str(e)
    capsys.readouterr()
    return "refused"


def test_the_flag_and_the_set_of_a_field_accept_the_same_values(capsys):
    from senet.engine.config import TRAIN_RULES
    from senet.engine.recipes import settable

    both = {f for f in TRAIN_RULES if f in settable()}
    assert both == {row[0] for row in FLAG_AND_SET}
    base = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--recipe", "digits"]
    for field, flag, bad, good in FLAG_AND_SET:
        for text, want in [(t, "refused") for t in bad] + [(t, "accepted") for t in good]:
            by_flag = _outcome([*base, flag, text], capsys)
            by_set = _outcome([*base, "--set", f"{field}={text}"], capsys)
            assert by_flag == by_set == want, (field, text, by_flag, by_set)


@pytest.mark.parametrize(
    "sets,message",
    [
        (["momentum=1.5"], r"momentum must be in \[0, 1\)"),
        (["crop_scale=1,0.2"], r"crop_scale must be 2 numbers in \(0, 1\], the smaller first"),
        (["crop_ratio=0,1"], r"crop_ratio must be 2 numbers"),
        (["gamma=0"], r"gamma must be in \(0, 1\]"),
        (["plateau_patience=-1"], r"plateau_patience must be an integer >= 0"),
        (["freeze_bn_epochs=-2"], r"freeze_bn_epochs must be an integer >= 0"),
        (["ref_batch=0"], r"ref_batch must be a positive integer"),
        (["step_epochs=0"], r"step_epochs must be a positive integer"),
        (["milestones=0.8,0.2"], r"milestones must be numbers in \(0, 1\), the smaller first"),
        (["cutout=-1"], r"cutout must be an integer >= 0"),
        (["warmup_epochs=12"], r"warmup_epochs=12 is not shorter than the run \(12 epoch"),
        (["freeze_bn_epochs=20"], r"freeze_bn_epochs=20 is not shorter than the run"),
        (["nesterov=true", "momentum=0"], r"Nesterov needs a momentum"),
        (["schedule=multistep"], r"multistep schedule needs milestones"),
        (["se_bias=maybe"], r"se_bias takes true or false or none"),
    ],
)
def test_set_values_no_run_should_take_are_refused(sets, message, tmp_path, capsys):
    argv = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--recipe", "digits"]
    argv += ["--max-batches", "1", "--workers", "0", "--no-progress", "--no-tensorboard"]  # fast if taken
    assert main([*argv, *[a for s in sets for a in ("--set", s)], "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and __import__("re").search(message, err), err
    assert not (tmp_path / "r").exists()


def test_every_preset_passes_its_own_rules():
    from senet.engine.recipes import RECIPES, with_sets

    for r in RECIPES.values():
        assert with_sets(r, {}) == r


@pytest.mark.parametrize(
    "bad,message",
    [
        (dict(overrides={"momentum": 2.0}), r"momentum must be in"),
        (dict(overrides={"lr": 0.0}), r"lr must be in \(0, inf\)"),
        (dict(overrides={"epochs": 0}), r"epochs must be a positive integer"),
        (dict(epochs=2, overrides={"warmup_epochs": 2}), r"not shorter than the run \(2 epoch"),
        (dict(image_size=1), r"--image-size 1 is below resnet20_cifar's smallest input"),
    ],
)
def test_the_library_refuses_what_the_cli_refuses(bad, message):
    with pytest.raises(SenetError, match=message):
        TrainConfig(model="resnet20_cifar", data="synthetic", **bad)
