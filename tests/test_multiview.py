"""Multi-scale, multi-crop evaluation (the ILSVRC 2017 protocol): views, their probabilities, the fusion."""

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms.v2 import functional as TF

import senet
from senet import data as D
from senet.cli import main
from senet.data.views import ViewPlan, collate
from senet.evaluation.evaluator import evaluate
from senet.evaluation.multiview import view_probabilities


# Its tests are in xdist_group 'multiview-trained': one worker builds it (make test: --dist loadgroup).
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """SE-ResNet-20 trained briefly on the built-in digits (so its predictions are not uniform)."""
    out = tmp_path_factory.mktemp("mv")
    senet.train(
        model="se_resnet20_cifar",
        data="digits",
        epochs=1,
        max_batches=8,
        workers=0,
        progress=False,
        tensorboard=False,
        out=str(out),
    )
    net = senet.create_model("se_resnet20_cifar", num_classes=10, checkpoint=out / "model.safetensors").eval()
    return out / "model.safetensors", net


def _probabilities(net, plan, first=None):
    _, val, classes, (mean, std) = D.build("digits", D.Views(multiview=plan))
    val = val if first is None else torch.utils.data.Subset(val, range(first))
    loader = D.loader(val, 64, collate_fn=collate)
    probs, targets, skipped, _ = view_probabilities(net, loader, torch.device("cpu"), batch_size=128)
    return probs, targets, skipped, (mean, std)


def _by_hand(img, scale, crop, name, mirrored, mean, std):
    """One view, written out: resize the short side, cut the named square, mirror, normalise."""
    r = TF.resize(TF.to_image(img), scale, antialias=True)
    h, w = r.shape[-2:]
    mid_y, mid_x = int(round((h - crop) / 2)), int(round((w - crop) / 2))
    top, left = {
        "center": (mid_y, mid_x),
        "top_left": (0, 0),
        "top_right": (0, w - crop),
        "bottom_left": (h - crop, 0),
        "bottom_right": (h - crop, w - crop),
        "start": (mid_y, 0) if w >= h else (0, mid_x),
        "end": (mid_y, w - crop) if w >= h else (h - crop, mid_x),
    }[name]
    v = r[..., top : top + crop, left : left + crop]
    if mirrored:
        v = v.flip(-1)
    v = v.float() / 255
    return (v - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]


@pytest.mark.parametrize("crops,flip", [(1, True), (3, False), (5, True), (10, False)])
@pytest.mark.xdist_group("multiview-trained")
def test_every_view_is_the_single_crop_run_of_that_view(trained, crops, flip):
    _, net = trained
    plan = ViewPlan(scales=(32, 40, 48), crop=32, crops=crops, flip=flip)
    probs, targets, skipped, (mean, std) = _probabilities(net, plan, first=12)
    per_scale = crops * (2 if flip else 1)  # --crops 10 holds its mirrors
    assert probs.shape == (12, 3 * per_scale, 10) and len(plan) == 3 * per_scale and skipped == 0
    # every view of a few images, by hand, through the network on its own
    _, val, _, _ = D.build("digits", D.Views())
    for i in (0, 7, 11):
        img = val.dataset.images[i]
        x = torch.stack(
            [_by_hand(img, v["scale"], 32, v["crop"], v["mirrored"], mean, std) for v in plan.views()]
        )
        with torch.no_grad():
            expected = F.softmax(net(x), 1)
        torch.testing.assert_close(probs[i], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.xdist_group("multiview-trained")
def test_single_views_and_fusion_match_separate_evaluations(trained):
    path, net = trained
    r = evaluate(net, data="digits", scales=(32, 40), crops=3, workers=0, device="cpu")
    assert r["views"]["per_image"] == 2 * 3 and r["num_images"] == 450
    for s in r["per_scale"]:  # the single view of each scale is the single-crop evaluation at that scale
        one = evaluate(net, data="digits", resize=s["scale"], crop=32, workers=0, device="cpu")
        assert s["single_view"]["top1_error"] == pytest.approx(one["top1_error"])
        assert s["single_view"]["top5_error"] == pytest.approx(one["top5_error"])
    plan = ViewPlan(scales=(32, 40), crop=32, crops=3)
    probs, targets, _, _ = _probabilities(net, plan)
    fused = probs.mean(1)  # the fused result is the mean of the views' probabilities
    assert r["top1_error"] == pytest.approx(100 * (fused.argmax(1) != targets).double().mean().item())
    top5 = (fused.topk(5, 1).indices == targets[:, None]).any(1)
    assert r["top5_error"] == pytest.approx(100 * (~top5).double().mean().item())
    assert r["loss"] == pytest.approx(F.nll_loss(fused.log(), targets).item(), rel=1e-5)
    for k, s in enumerate(r["per_scale"]):  # and each scale's multi-view result the mean of its views
        m = probs[:, 3 * k : 3 * (k + 1)].mean(1)
        assert s["multi_view"]["top1_error"] == pytest.approx(
            100 * (m.argmax(1) != targets).double().mean().item()
        )


def test_fully_convolutional_takes_non_square_images(tmp_path):
    for split in ("train", "val"):
        for c, size in (("a", (40, 56)), ("b", (64, 40))):
            d = tmp_path / split / c
            d.mkdir(parents=True)
            for i in range(2):
                Image.new("RGB", size, (200 * (c == "a"), 60 + 40 * i, 30)).save(d / f"{i}.png")
    net = senet.create_model("resnet20_cifar", num_classes=2).eval()
    plan = ViewPlan(scales=(36, 44), crop=None, flip=True, fully_convolutional=True)
    _, val, _, (mean, std) = D.build(f"imagefolder:{tmp_path}", D.Views(multiview=plan))
    views, _ = val[0]
    assert [tuple(v.shape) for v in views] == [(2, 3, 50, 36), (2, 3, 61, 44)]  # short side 36/44, 40x56 kept
    probs, targets, _, _ = view_probabilities(net, D.loader(val, 1, collate_fn=collate), torch.device("cpu"))
    assert probs.shape == (4, 4, 2)
    img = Image.open(tmp_path / "val" / "b" / "1.png")
    r = TF.resize(TF.to_image(img), 44, antialias=True).float() / 255
    whole = (r - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]
    with torch.no_grad():
        expected = F.softmax(net(torch.stack([whole, whole.flip(-1)])), 1)
    torch.testing.assert_close(probs[3, 2:], expected, rtol=1e-4, atol=1e-5)
    res = evaluate(net, data=f"imagefolder:{tmp_path}", scales=(36, 44), fully_convolutional=True, workers=0)
    assert res["views"]["per_image"] == 2 and res["crop"] is None and len(res["per_scale"]) == 2


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"scales": (28,), "crop": 32}, r"crop 32 is larger than scale 28"),
        ({"scales": (32,), "crops": 10, "flip": True}, r"--crops 5 --flip"),
        ({"scales": (32,), "crops": 4}, r"one of 1, 3, 5, 10"),
        ({"scales": (32, 32)}, r"repeat"),
        ({"scales": (0,)}, r"positive"),
        ({"scales": (32,), "crops": 5, "fully_convolutional": True}, r"takes no --crops"),
        ({"scales": (32,), "ten_crop": True}, r"--crops 10"),
        ({"scales": (32,), "resize": 36}, r"--resize is the single scale"),
        ({"crop": 40}, r"crop 40 is larger than the images"),  # would be padded with zeros
        ({"resize": 36, "crop": 40, "ten_crop": True}, r"crop 40 is larger than the images"),
        ({"scales": ()}, r"at least one short side"),
        ({"fully_convolutional": True, "crop": 28}, r"takes no --crop"),
        ({"flip": "no"}, r"flip must be True or False"),
    ],
)
def test_ambiguous_view_options_are_refused(kwargs, message):
    net = senet.create_model("resnet20_cifar", num_classes=10)
    with pytest.raises(senet.SenetError, match=message):
        evaluate(net, data="digits", workers=0, device="cpu", **kwargs)


@pytest.mark.xdist_group("multiview-trained")
def test_cli_prints_each_scale_and_the_fusion(trained, capsys):
    path, _ = trained
    argv = ["eval", "--checkpoint", str(path), "--data", "digits", "--workers", "0", "--scales", "32,40"]
    assert main([*argv, "--flip"]) == 0
    text = capsys.readouterr().out
    assert "4 views per image" in text and "fused over every view" in text
    assert len([line for line in text.splitlines() if line.lstrip().startswith(("32 ", "40 "))]) == 2
    assert main([*argv, "--crops", "3", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert [s["scale"] for s in r["per_scale"]] == [32, 40] and r["views"]["per_image"] == 6
    assert main([*argv, "--crops", "10", "--flip"]) == 2
    assert "--crops 5 --flip" in capsys.readouterr().err


def test_table9_resnext101_32x48d_counts_as_released(capsys):
    """Table 9's ResNeXt-101 32x48d (Mahajan et al.'s WSL network) and our SE twin, counted on the meta device."""
    assert main(["complexity", "resnext101_32x48d", "se_resnext101_32x48d"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["resnext101_32x48d"][2] == "828,411,176"  # torchvision-style ResNeXt-101 32x48d, 1000 classes
    se = int(rows["se_resnext101_32x48d"][2].replace(",", ""))
    # r = 16 on each unit's output: 2 C^2 / 16 + C/16 + C weights and biases per block
    widths = [256] * 3 + [512] * 4 + [1024] * 23 + [2048] * 3
    assert se - 828_411_176 == sum(2 * c * c // 16 + c // 16 + c for c in widths)
    info = senet.model_info("resnext101_32x48d")
    assert (
        senet.model_options("resnext101_32x48d")["layout"] == "torchvision"
        and info.twin == "se_resnext101_32x48d"
    )
    with torch.device("meta"):
        net = senet.create_model("resnext101_32x48d")
    conv = net.layer1[0].conv2  # the grouped 3x3 carries 32 groups of 48 channels, and the stride
    assert (conv.groups, conv.in_channels) == (32, 32 * 48) and net.layer2[0].conv2.stride == (2, 2)
