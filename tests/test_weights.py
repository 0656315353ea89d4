"""Weight interop: timm legacy (= Cadene) and timm SE-ResNets load with identical logits; nothing is unpickled."""

import os
import pickle

import pytest
import torch

import senet
from senet import CheckpointError, create_model, save_weights
from senet.hub.weights import detect_style, load_state_dict_file

timm = pytest.importorskip("timm")


def _randomise_bn(model):
    """Non-trivial BN statistics, so that a wrongly wired BN cannot hide behind identity defaults."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) * 0.2 - 0.1)
    return model


@pytest.mark.parametrize(
    "timm_name,ours,options,suffix",
    [
        ("legacy_seresnet50", "se_resnet50", {}, ".pth"),
        ("legacy_seresnext50_32x4d", "se_resnext50_32x4d", {}, ".safetensors"),
        ("legacy_senet154", "senet154", {}, ".pth"),
        ("seresnet50", "se_resnet50", {"layout": "torchvision"}, ".pt"),
    ],
)
def test_timm_state_dict_loads_with_identical_logits(tmp_path, timm_name, ours, options, suffix):
    ref = _randomise_bn(timm.create_model(timm_name, pretrained=False)).eval()
    path = tmp_path / f"{timm_name}{suffix}"
    if suffix == ".safetensors":
        save_weights(ref.state_dict(), path)
    else:
        torch.save(ref.state_dict(), path)
    with torch.device("meta"):  # no init: the checkpoint materialises every tensor
        model = create_model(ours, checkpoint=path, **options).eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)


def test_official_and_torchvision_layouts_compute_different_functions(tmp_path):
    """Same shapes, different functions (PAPER.md section 3): loading into the wrong layout is not silent parity."""
    ref = _randomise_bn(timm.create_model("legacy_seresnet50")).eval()
    wrong = create_model("se_resnet50", layout="torchvision").eval()
    wrong.load_state_dict(senet.hub.weights.convert_state_dict(ref.state_dict()))
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert not torch.allclose(wrong(x), ref(x), atol=1e-3)


def test_style_detection():
    assert detect_style(timm.create_model("legacy_seresnet18").state_dict()) == "cadene"
    assert detect_style(create_model("se_resnet18").state_dict()) == "senet"


def test_training_checkpoint_wrappers_and_prefixes_are_unwrapped(tmp_path):
    model = create_model("se_resnet20_cifar")
    sd = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"model": sd, "optimizer": {"state": {}}, "epoch": 3}, tmp_path / "ckpt.pt")
    loaded = create_model("se_resnet20_cifar", checkpoint=tmp_path / "ckpt.pt")
    for a, b in zip(loaded.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)


def test_save_weights_roundtrip_is_atomic(tmp_path):
    model = create_model("se_resnet20_cifar").eval()
    path = save_weights(model, tmp_path / "w.safetensors")
    assert sorted(os.listdir(tmp_path)) == ["w.safetensors"]  # no temporary file left behind
    again = create_model("se_resnet20_cifar", checkpoint=path).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), again(x))


class _Evil:
    def __reduce__(self):
        return (os.system, (f"touch {os.environ['SENET_PWNED']}",))


def test_malicious_pickle_is_refused_without_running_it(tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    monkeypatch.setenv("SENET_PWNED", str(marker))
    path = tmp_path / "evil.pth"
    torch.save({"model": _Evil()}, path, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refused to load.*not unpickled"):
        create_model("resnet20_cifar", checkpoint=path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", b"root:x:0:0:root:/root:/bin/bash\n" * 20, None],
    ids=["empty", "text", "passwd", "truncated"],
)
@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_bad_files_raise_checkpoint_errors(tmp_path, content, suffix):
    path = tmp_path / f"bad{suffix}"
    if content is None:  # a real checkpoint cut in half
        good = tmp_path / f"good{suffix}"
        sd = create_model("resnet20_cifar").state_dict()
        save_weights(sd, good) if suffix == ".safetensors" else torch.save(sd, good)
        content = good.read_bytes()[: good.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad"):
        load_state_dict_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        create_model("resnet20_cifar", checkpoint=tmp_path / "nope.pth")


def test_another_architecture_names_the_mismatch(tmp_path):
    torch.save(create_model("resnet20_cifar").state_dict(), tmp_path / "plain.pth")
    with pytest.raises(
        CheckpointError, match=r"does not fit se_resnet20_cifar: 36 missing: layer1\.0\.se\.fc1"
    ):
        create_model("se_resnet20_cifar", checkpoint=tmp_path / "plain.pth")
    torch.save(create_model("resnet32_cifar").state_dict(), tmp_path / "deeper.pth")
    with pytest.raises(CheckpointError, match=r"unexpected: layer1\.3\."):
        create_model("resnet20_cifar", checkpoint=tmp_path / "deeper.pth")


def test_class_count_mismatch_gives_the_fix(tmp_path):
    torch.save(create_model("resnet20_cifar", num_classes=100).state_dict(), tmp_path / "c100.pth")
    with pytest.raises(
        CheckpointError, match=r"fc\.weight: file \(100, 64\) vs model \(10, 64\).*num_classes=100"
    ):
        create_model("resnet20_cifar", checkpoint=tmp_path / "c100.pth")
    assert (
        create_model("resnet20_cifar", num_classes=100, checkpoint=tmp_path / "c100.pth").fc.out_features
        == 100
    )


def test_loading_into_a_meta_model_materialises_it(tmp_path):
    save_weights(create_model("resnet20_cifar"), tmp_path / "w.safetensors")
    with torch.device("meta"):
        model = create_model("resnet20_cifar")
    senet.load_weights(model, tmp_path / "w.safetensors")
    assert all(not p.is_meta for p in model.parameters())


def test_torchvision_resnet_loads_into_the_torchvision_layout(tmp_path):
    tv = pytest.importorskip("torchvision")
    ref = _randomise_bn(tv.models.resnext50_32x4d()).eval()
    torch.save(ref.state_dict(), tmp_path / "tv.pth")
    model = create_model("resnext50_32x4d", layout="torchvision", checkpoint=tmp_path / "tv.pth").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)


def test_legacy_basic_block_weights_are_refused(tmp_path):
    """timm/Cadene legacy SE-ResNet-18/34 add a ReLU after bn2: same keys, another function."""
    path = tmp_path / "legacy18.pth"
    torch.save(timm.create_model("legacy_seresnet18").state_dict(), path)
    with pytest.raises(CheckpointError, match="extra ReLU after bn2"):
        create_model("se_resnet18", checkpoint=path)


def test_a_file_of_cadenes_basic_unit_says_so_in_its_card(tmp_path):
    """se_resnet18 built with branch_relu=True (timm's legacy weights) computes another function with the
    same keys: senet's file records the option, a model without it refuses the file and the other way round
    (a card without the option means off)."""
    torch.manual_seed(0)
    legacy = create_model("se_resnet18", branch_relu=True).eval()
    paper = create_model("se_resnet18").eval()
    paper.load_state_dict(legacy.state_dict())
    senet.save_weights(legacy, tmp_path / "legacy.safetensors")
    assert senet.hub.weights.model_card(legacy)["options"]["branch_relu"] is True
    assert "branch_relu" not in senet.hub.weights.model_card(paper)["options"]
    with pytest.raises(CheckpointError, match="built with branch_relu=True"):
        create_model("se_resnet18", checkpoint=tmp_path / "legacy.safetensors")
    card = {"model": "se_resnet18", "options": {"layout": "official"}}  # a card without it: off
    with pytest.raises(CheckpointError, match="built with branch_relu=False"):
        senet.hub.weights.check_card(legacy, card, "senet", "the file")
    again = create_model("se_resnet18", branch_relu=True, checkpoint=tmp_path / "legacy.safetensors").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(again(x), legacy(x)) and not torch.allclose(paper(x), legacy(x))
    with pytest.raises(senet.SenetError, match="does not take"):  # basic units only
        create_model("se_resnet50", branch_relu=True)


def test_checkpoints_without_num_batches_tracked_load(tmp_path):
    """Files older than PyTorch 0.4.1 (Cadene's originals) have no BN batch counters."""
    ref = _randomise_bn(timm.create_model("legacy_seresnet50")).eval()
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "old.pth")
    model = create_model("se_resnet50", checkpoint=tmp_path / "old.pth").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref(x), rtol=1e-5, atol=1e-5)


def _with_card(tmp_path, name, edit):
    """resnet20_cifar's weights saved with 10 class names, then the card edited by hand (``edit``)."""
    import json

    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    src = save_weights(
        create_model("resnet20_cifar"), tmp_path / "src.safetensors", classes=list("abcdefghij")
    )
    with safe_open(str(src), "pt") as f:
        meta = f.metadata()
    out = tmp_path / f"{name}.safetensors"
    card = json.loads(meta["senet_card"])
    text = edit(card) if callable(edit) else edit
    save_file(load_file(str(src)), str(out), metadata={**meta, "senet_card": text})
    return out


@pytest.mark.parametrize(
    "edit,expected",
    [
        ("{not json", r"its senet card .*is not valid JSON"),
        ('["a list"]', r"its senet card is a list, not a JSON object"),
        (
            lambda c: __import__("json").dumps({**c, "classes": ["x"] * 10}),
            r"class names repeat 'x' \(classes 0 and 1\)",
        ),
        (
            lambda c: __import__("json").dumps({**c, "classes": c["classes"][:3]}),
            r"3 class names for 10 classes",
        ),
        (lambda c: __import__("json").dumps({**c, "classes": list(range(10))}), r"not all non-empty strings"),
        (lambda c: __import__("json").dumps({**c, "num_classes": "10"}), r"num_classes '10', not a positive"),
        (lambda c: __import__("json").dumps({**c, "options": []}), r"holds options \[\]"),
    ],
    ids=["json", "list", "repeated", "short", "numbers", "count", "options"],
)
def test_a_hand_edited_card_is_refused_once_where_it_is_read(tmp_path, edit, expected):
    """Every reader goes through read_weights: the library load, predict and evaluate refuse alike."""
    from senet.errors import SenetError
    from senet.evaluation.inference import predictor
    from senet.hub.weights import read_weights

    path = _with_card(tmp_path, "edited", edit)
    with pytest.raises(
        CheckpointError, match=rf"edited\.safetensors: {'.*' if 'JSON' not in expected else ''}"
    ):
        read_weights(path)
    with pytest.raises(CheckpointError, match=expected):
        senet.load_weights(create_model("resnet20_cifar"), path)
    with pytest.raises(SenetError, match=expected):
        predictor(checkpoint=path)


def test_a_training_checkpoint_card_is_checked_too():
    state = create_model("resnet20_cifar").state_dict()
    card = {"model": "resnet20_cifar", "options": {}, "num_classes": 10, "classes": ["a"] * 10}
    with pytest.raises(CheckpointError, match=r"the state_dict: its senet card class names repeat 'a'"):
        senet.load_weights(create_model("resnet20_cifar"), {"model": state, "card": card})
    with pytest.raises(CheckpointError, match=r"is a str, not a JSON object"):
        senet.load_weights(create_model("resnet20_cifar"), {"model": state, "card": "resnet20_cifar"})


def test_save_weights_refuses_repeated_class_names(tmp_path):
    with pytest.raises(senet.SenetError, match=r"class names repeat 'b' \(classes 1 and 2\)"):
        save_weights(create_model("resnet20_cifar"), tmp_path / "w.safetensors", classes=list("abbdefghij"))
    assert not list(tmp_path.iterdir())


def test_predict_refuses_class_names_that_do_not_match_the_outputs():
    """The silent fallback to numbers is gone: a name list of another length is an error."""
    from senet.evaluation.inference import Predictor

    p = Predictor(torch.nn.Identity(), "m", None, torch.device("cpu"), card_classes=["a", "b", "c"])
    assert p.classes(3) == ["a", "b", "c"]
    with pytest.raises(senet.SenetError, match=r"names 3 classes, the model has 10 outputs"):
        p.classes(10)
