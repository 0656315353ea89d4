"""Faithful to the paper and its sources: the CIFAR baselines, Shake-Even, recipes, sizes, Cutout, BN freezing.

The references below are written here from the authors' code (KaimingHe/resnet-1k-layers
``resnet-pre-act.lua``; xgastaldi/shake-shake ``shakeshake.lua``), independently of senet's modules.
"""

import json

import pytest
import torch
from torch import nn

import senet
from senet import data as D
from senet.cli import main
from senet.core.distributed import DistEnv
from senet.engine import TrainConfig
from senet.engine.config import resolve, views_for


def _bn_relu(c):
    return [nn.BatchNorm2d(c), nn.ReLU()]


class RefPreActUnit(nn.Module):
    """resnet-pre-act.lua: a unit that increases dimensions pre-activates once and projects that; the
    others pre-activate inside the branch and add the raw input. Basic (ResNet-110) or bottleneck (164)."""

    def __init__(self, cin, cout, stride, bottleneck):
        super().__init__()
        self.increase = stride != 1 or cin != cout
        self.common = nn.Sequential(*_bn_relu(cin))  # BN-ReLU before the branch (both paths if increasing)
        if bottleneck:
            mid = cout // 4
            convs = [
                nn.Conv2d(cin, mid, 1, stride, bias=False),
                *_bn_relu(mid),
                nn.Conv2d(mid, mid, 3, 1, 1, bias=False),
            ]
            convs += [*_bn_relu(mid), nn.Conv2d(mid, cout, 1, bias=False)]
        else:
            convs = [
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                *_bn_relu(cout),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False),
            ]
        self.convs = nn.Sequential(*convs)
        self.proj = nn.Conv2d(cin, cout, 1, stride, bias=False) if self.increase else None

    def forward(self, x):
        pre = self.common(x)
        return self.convs(pre) + (self.proj(pre) if self.increase else x)


class RefPreActNet(nn.Module):
    def __init__(self, n, widths, bottleneck, classes=10):
        super().__init__()
        layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
        for i, w in enumerate(widths):
            for b in range(n):
                layers.append(RefPreActUnit(cin, w, 2 if (b == 0 and i > 0) else 1, bottleneck))
                cin = w
        layers += [
            nn.BatchNorm2d(cin),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(cin, classes),
        ]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def _copy_by_position(src: nn.Module, dst: nn.Module) -> None:
    a, b = list(src.state_dict().values()), list(dst.state_dict().values())
    assert [t.shape for t in a] == [t.shape for t in b]  # the same tensors, registered in the same order
    with torch.no_grad():
        for s, d in zip(a, b):
            d.copy_(s)


@pytest.mark.parametrize("name, n, widths, bottleneck", [
    ("resnet110_cifar", 18, (16, 32, 64), False),
    ("resnet164_cifar", 18, (64, 128, 256), True),
])  # fmt: skip
def test_cifar_resnets_are_the_authors_pre_activation_networks(name, n, widths, bottleneck):
    torch.manual_seed(0)
    ours, ref = senet.create_model(name), RefPreActNet(n, widths, bottleneck)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in ref.parameters())
    for m in ours.modules():  # non-trivial BN statistics, so a misplaced BN shows
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3), m.running_var.uniform_(0.8, 1.2)
    _copy_by_position(ours, ref)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), ref.eval()(x), rtol=1e-4, atol=1e-5)
    assert senet.model_info(name).revision == 2


def test_an_old_resnet110_checkpoint_is_refused(tmp_path):
    from safetensors.torch import save_file

    sd = {k: v.contiguous() for k, v in senet.create_model("resnet20_cifar").state_dict().items()}
    save_file(
        sd, tmp_path / "old110.safetensors", metadata={"format": "pt", "senet_model": "resnet110_cifar"}
    )
    with pytest.raises(
        senet.CheckpointError, match="revision 1; this senet defines resnet110_cifar as revision 2"
    ):
        senet.create_model("resnet110_cifar", checkpoint=tmp_path / "old110.safetensors")


def test_shake_even_is_gastaldis_post_activation_resnext_unit():
    model = senet.create_model("se_shake_even29_2x4x64d").eval()
    kinds = [type(m) for m in model.stem]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]  # conv-BN-ReLU stem
    unit = model.layer1[0]
    for branch in (unit.branch1, unit.branch2):  # conv-BN-ReLU-grouped conv-BN-ReLU-conv-BN
        assert [type(m) for m in branch] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 2 + [
            nn.Conv2d,
            nn.BatchNorm2d,
        ]
        assert branch[3].groups == 4 and branch[3].out_channels == 256
    assert [type(m) for m in unit.shortcut] == [nn.Conv2d, nn.BatchNorm2d]  # 1x1 conv + BN projection
    assert unit.shortcut[0].kernel_size == (1, 1)
    assert not hasattr(model, "final")  # the units end with ReLU: no extra one before the pool
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():  # eval: both branches weigh 0.5; SE on their mix; ReLU after the addition
        mix = 0.5 * (unit.branch1(x) + unit.branch2(x))
        expected = torch.relu(unit.se(mix) + unit.shortcut(x))
        torch.testing.assert_close(unit(x), expected)
        assert (unit(x) >= 0).all()
    assert senet.complexity("shake_even29_2x4x64d").params == 34_529_700


def test_recipes_as_the_original_papers_give_them(capsys):
    assert main(["recipes", "--json", "cifar-shake-even", "senet154", "cifar-shake"]) == 0
    even, s154, shake = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (even["batch_size"], even["lr"], even["weight_decay"], even["epochs"]) == (32, 0.025, 5e-4, 1800)
    assert (even["schedule"], even["cutout"]) == ("cosine", 8)
    assert (s154["batch_size"], s154["lr"], s154["label_smoothing"] > 0, s154["freeze_bn_epochs"] > 0) == (
        2048, 1.0, True, True,
    )  # fmt: skip
    assert "assumed" in s154["source"] and shake["cutout"] == 16
    assert senet.model_info("shake_even29_2x4x64d").recipe == "cifar-shake-even"
    assert senet.model_info("senet154").recipe == "senet154"


def test_cutout_as_devries_and_taylor():
    """The square's centre is anywhere in the image; near the border the square is clipped."""
    cut, img = D.Cutout(8), torch.ones(3, 32, 32)
    torch.manual_seed(0)
    areas, corners = [], 0
    for _ in range(400):
        zero = cut(img)[0] == 0
        areas.append(int(zero.sum()))
        corners += bool(zero[0, 0] or zero[0, -1] or zero[-1, 0] or zero[-1, -1])
    assert max(areas) == 64 and min(areas) < 40 and corners > 0  # full squares inside, clipped ones at edges
    assert all(a > 0 for a in areas)


def test_bn_is_frozen_for_the_recipes_last_epochs(tmp_path):
    """SENet-154's recipe freezes BN statistics in its last epochs (here: all of a 1-epoch run)."""
    from safetensors.torch import load_file

    run = dict(model="resnet20_cifar", data="synthetic", epochs=1, batch_size=32, max_batches=2, workers=0,
               progress=False, tensorboard=False, image_size=32)  # fmt: skip
    senet.train(**run, recipe="senet154", out=str(tmp_path / "frozen"))
    senet.train(**run, recipe="imagenet", out=str(tmp_path / "moving"))
    frozen, moving = (load_file(tmp_path / d / "model.safetensors") for d in ("frozen", "moving"))
    assert torch.equal(frozen["bn1.running_mean"], torch.zeros(16)) and frozen["bn1.num_batches_tracked"] == 0
    assert not torch.equal(moving["bn1.running_mean"], torch.zeros(16))


def test_each_model_trains_and_is_evaluated_at_its_own_size(tmp_path):
    (tmp_path / "train").mkdir(), (tmp_path / "val").mkdir()
    data = f"imagefolder:{tmp_path}"
    for model, size, resize in (("se_inception_resnet_v2", 299, 352), ("se_resnet50", 224, 256)):
        cfg = TrainConfig(model=model, data=data)
        recipe, resolved = resolve(cfg, DistEnv())
        views = views_for(cfg, recipe, resolved["image_size"])
        assert (views.train_size, views.eval_resize, views.eval_crop) == (size, resize, size)
    cfg = TrainConfig(model="senet154", data=data, image_size=320)  # Table 8's 320 crop
    recipe, resolved = resolve(cfg, DistEnv())
    views = views_for(cfg, recipe, resolved["image_size"])
    assert (views.train_size, views.eval_resize, views.eval_crop) == (320, 366, 320)
    assert resolve(TrainConfig(model="senet154", data=data), DistEnv())[0].name == "senet154"


def test_studies_on_image_folders_use_the_ablation_recipe(tmp_path, monkeypatch):
    """Tables 10-16 were trained with the TPAMI ablation recipe (Sec. 6), which the tables print beside ours."""
    from senet.engine.recipes import ablation_recipe

    assert ablation_recipe("imagefolder:/data") == "imagenet-ablation"
    assert ablation_recipe("digits") == "digits"
    for split in ("train", "val"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            from PIL import Image

            Image.new("RGB", (8, 8)).save(tmp_path / split / c / "0.png")
    seen = []

    def fake_train(cfg):
        seen.append(cfg.recipe)
        raise KeyboardInterrupt  # stop after the first variant's configuration

    monkeypatch.setattr(senet.engine, "train", fake_train)
    with pytest.raises(KeyboardInterrupt):
        senet.ablate(table=16, model="se_resnet50", data=f"imagefolder:{tmp_path}", out=str(tmp_path / "s"))
    assert seen == ["imagenet-ablation"]
