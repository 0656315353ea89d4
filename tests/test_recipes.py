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
