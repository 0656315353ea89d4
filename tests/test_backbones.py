"""SE networks as backbones: torchvision detection and segmentation, gradient checkpointing, ONNX at any size."""

import numpy as np
import pytest
import torch
from torchvision.ops import FrozenBatchNorm2d

import senet


@pytest.mark.parametrize("name", ["se_resnet50", pytest.param("resnet50", marks=pytest.mark.slow)])
def test_faster_rcnn_with_an_fpn_backbone_learns(name, tmp_path):
    from torchvision.models.detection import FasterRCNN

    from coco_tiny import write_coco
    from senet.detection.faster_rcnn import coco

    torch.manual_seed(0)
    frozen = senet.backbone(name, fpn=True, trainable_stages=3)  # the detection default: BN frozen
    assert frozen.out_channels == 256 and isinstance(frozen.body.bn1, FrozenBatchNorm2d)
    assert not any(p.requires_grad for p in frozen.body.layer1.parameters())  # stages 1-2 frozen, 3 train
    assert all(p.requires_grad for p in frozen.body.layer2.parameters())
    # random weights: frozen BN would keep unit statistics that do not fit them, so BN trains here
    bb = senet.backbone(name, fpn=True, trainable_stages=3, frozen_bn=False)
    model = FasterRCNN(bb, num_classes=3, min_size=64, max_size=64).train()
    write_coco(tmp_path, n=2, size=64)  # a tiny COCO-format set, read as senet detect reads it
    data = coco(f"coco:{tmp_path}", "train2017")
    images, targets = zip(*(data[i] for i in range(len(data))))
    images, targets = list(images), [{k: t[k] for k in ("boxes", "labels")} for t in targets]
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    losses = []
    for _ in range(6):
        loss = sum(model(images, targets).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses)) and np.mean(losses[-3:]) < 0.8 * losses[0], losses
    model.eval()
    with torch.no_grad():
        out = model(images[:1])
    assert set(out[0]) == {"boxes", "labels", "scores"}


def test_backbone_maps_and_segmentation_keys():
    from torchvision.models.segmentation.deeplabv3 import DeepLabHead, DeepLabV3
    from torchvision.models.segmentation.fcn import FCNHead

    bb = senet.backbone("se_resnet20_cifar", fpn=False, returned_stages=(1, 2), keys=("aux", "out"))
    x = torch.randn(2, 3, 32, 32)
    maps = bb(x)
    assert list(maps) == ["aux", "out"] and [m.shape[1] for m in maps.values()] == [32, 64]
    seg = DeepLabV3(bb, DeepLabHead(bb.out_channels, 5), FCNHead(32, 5)).eval()
    out = seg(x)
    assert out["out"].shape == (2, 5, 32, 32) and out["aux"].shape == (2, 5, 32, 32)
    fpn = senet.backbone("se_mobilenet", trainable_stages=5, frozen_bn=False)(torch.randn(1, 3, 96, 96))
    assert list(fpn) == ["0", "1", "2", "3", "pool"] and all(m.shape[1] == 256 for m in fpn.values())
    with pytest.raises(senet.SenetError, match="trainable_stages must be an integer from 0 to 5"):
        senet.backbone("se_resnet50", trainable_stages=6)


def test_features_only_is_timms_api():
    feats = senet.create_model("se_resnet50", features_only=True, out_indices=(1, 2, 3, 4))
    assert feats.feature_info.channels() == [256, 512, 1024, 2048] and feats.feature_info.reduction() == [
        4,
        8,
        16,
        32,
    ]
    assert feats.feature_info.module_name() == ["layer1", "layer2", "layer3", "layer4"]
    maps = feats(torch.randn(1, 3, 64, 64))
    assert [m.shape[-1] for m in maps] == [16, 8, 4, 2]
    whole = senet.create_model("se_resnet50")
    keys = {k for k in whole.state_dict() if not k.startswith("fc.")}
    assert set(feats.state_dict()) == keys  # the classifier's weights load into it
    with pytest.raises(senet.SenetError, match="out_indices goes with features_only"):
        senet.create_model("se_resnet50", out_indices=(1,))
    with pytest.raises(senet.SenetError, match="out of range"):
        senet.create_model("se_resnet50", features_only=True, out_indices=(7,))


def _saved_bytes(model, x):
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).square().mean()
    return loss, total


def test_gradient_checkpointing_same_gradients_less_memory():
    torch.manual_seed(0)
    model = senet.create_model("se_resnet110_cifar").train()
    x = torch.randn(8, 3, 32, 32)
    loss, plain = _saved_bytes(model, x)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    stats = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    model.zero_grad()
    model.load_state_dict({**model.state_dict(), **{k: torch.zeros_like(v) if "mean" in k or "num" in k else
                           torch.ones_like(v) for k, v in stats.items()}})  # fmt: skip
    model.set_grad_checkpointing(True)
    loss2, ckpt = _saved_bytes(model, x)
    loss2.backward()
    torch.testing.assert_close(loss2, loss)
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.grad, grads[n], rtol=1e-4, atol=1e-6, msg=n)
    assert ckpt < 0.25 * plain, (ckpt, plain)  # 54 units: only their inputs are held
    after = {
        k: v for k, v in model.state_dict().items() if k in stats
    }  # BN statistics updated once, not twice
    for k, v in stats.items():
        torch.testing.assert_close(after[k], v, msg=k)


def test_onnx_with_free_height_and_width(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    model = senet.create_model("se_resnet18").eval()
    path = senet.export(model, tmp_path / "m.onnx", size=64, dynamic_size=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for h, w in ((64, 64), (96, 128)):
        x = torch.randn(2, 3, h, w)
        with torch.no_grad():
            ref = model(x).numpy()
        (got,) = session.run(None, {"input": x.numpy()})
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-4)
    with pytest.raises(senet.SenetError, match="--dynamic-size is for ONNX"):
        senet.export(model, tmp_path / "m.pt", "torchscript", dynamic_size=True)


def test_train_with_grad_checkpointing(tmp_path):
    from senet.cli import main

    argv = ["train", "--model", "resnet20_cifar", "--data", "synthetic", "--epochs", "1", "--max-batches", "2",
            "--workers", "0", "--no-progress", "--no-tensorboard", "--grad-checkpointing", "--out", str(tmp_path)]  # fmt: skip
    assert main(argv) == 0
    config = __import__("json").loads((tmp_path / "config.json").read_text())["config"]
    assert config["grad_checkpointing"] is True


def test_the_backbone_plugs_into_mask_rcnn_retinanet_and_fcos():
    from torchvision.models.detection import FCOS, MaskRCNN, RetinaNet

    images = [torch.rand(3, 96, 112)]
    for build in (MaskRCNN, RetinaNet, FCOS):
        model = build(senet.backbone("se_resnet18"), num_classes=3, min_size=96, max_size=112).eval()
        with torch.no_grad():
            (out,) = model(images)
        assert {"boxes", "scores", "labels"} <= set(out), build.__name__


def test_bad_backbone_requests_are_refused_and_unused_stages_dropped():
    with pytest.raises(senet.SenetError, match="distinct strings"):
        senet.backbone("se_resnet18", fpn=False, keys=("a", "a", "b", "c"))
    with pytest.raises(senet.SenetError, match="out_channels must be a positive integer"):
        senet.backbone("se_resnet18", out_channels=0)
    with pytest.raises(senet.SenetError, match="at least one"):
        senet.create_model("se_resnet18", features_only=True, out_indices=[])
    bb = senet.backbone("se_resnet18", fpn=False, returned_stages=2, trainable_stages=1)  # the last two maps
    assert [m.shape[1] for m in bb(torch.randn(1, 3, 64, 64)).values()] == [256, 512]
    short = senet.create_model("se_resnet18", features_only=True, out_indices=[1])
    assert not hasattr(short, "layer2")  # nothing after the deepest chosen map is kept (or trained)
    bb = senet.backbone("se_resnet18", fpn=False, returned_stages=[1, 2], trainable_stages=1)
    assert [n for n, p in bb.named_parameters() if p.requires_grad][0].startswith("body.layer2")
