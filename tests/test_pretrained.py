"""Pretrained tags, downloaded from a loopback server the test starts: nothing here reaches the network.

Files are made from randomly initialised timm and torchvision models; the hub is served with the headers
huggingface_hub reads (HF_ENDPOINT), every other download through SENET_WEIGHTS_BASE_URL.
"""

import hashlib
import io
import json

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save

import senet
from loopback import Files
from senet.cli import main
from senet.errors import CheckpointError
from senet.hub import pretrained as P
from senet.hub.weights import convert_state_dict

X = torch.randn(2, 3, 64, 64)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    files = Files().start()
    monkeypatch.setenv("HF_ENDPOINT", files.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("SENET_WEIGHTS_BASE_URL", files.url)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield files
    if files.server is not None:
        try:
            files.stop()
        except OSError:
            pass


def _pth(model) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def _logits(model):
    with torch.no_grad():
        return model.eval()(X)


def _add_tag(monkeypatch, tag):
    monkeypatch.setitem(P.tags(), tag.name, tag)
    return tag


def test_hub_tag_in_the_torchvision_layout_downloads_checks_and_computes_timms_logits(hub, capfd, tmp_path):
    source = timm.create_model("seresnet50", pretrained=False)
    hub.add_hub("timm/seresnet50.a1_in1k", "model.safetensors", save(source.state_dict()))
    model = senet.create_model("se_resnet50", pretrained="timm_a1_in1k")  # the table's own tag
    torch.testing.assert_close(_logits(model), _logits(source))
    assert model.layout == "torchvision" and model.reinitialized == []
    cfg = model.default_cfg  # the weights' preprocessing, not the paper's
    assert (cfg["crop_pct"], cfg["interpolation"], cfg["pretrained"]) == (
        0.95,
        "bicubic",
        "se_resnet50.timm_a1_in1k",
    )
    assert "model.safetensors" in capfd.readouterr().err  # huggingface_hub's progress bar
    gets = [r for r in hub.requests if r[0] == "GET"]
    from PIL import Image

    from senet.evaluation.evaluator import _input_view, evaluate

    assert _input_view("se_resnet50", "timm_a1_in1k") == (224, 0.95, "bicubic")  # eval: 224 of 236, bicubic
    for c in ("a", "b"):  # 1000 classes on 2-class data: a random classifier, refused
        for split in ("train", "val"):
            (tmp_path / split / c).mkdir(parents=True)
            Image.new("RGB", (300, 260), (90, 20, 200 * (c == "a"))).save(tmp_path / split / c / "0.png")
    with pytest.raises(senet.SenetError, match="their classifier would be random"):
        evaluate(
            "se_resnet50", pretrained="timm_a1_in1k", data=f"imagefolder:{tmp_path}", workers=0, device="cpu"
        )
    hub.stop()  # the network is gone: the cached file serves
    again = senet.create_model("se_resnet50", pretrained="se_resnet50.timm_a1_in1k")
    torch.testing.assert_close(_logits(again), _logits(source))
    assert len(gets) == 1


def test_a_timm_family_tag_downloads_and_predicts_with_its_own_transform(hub, tmp_path):
    """seresnext26d_32x4d.bt_in1k (timm's SE-ResNeXt-26-D) from the loopback hub: senet.predict's
    probabilities equal timm's model on timm's own eval transform for those weights; a tag evaluated at
    another size (seresnet152d.ra2_in1k: 256, crop 0.95) is shown to the model at that size."""
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    from senet.evaluation.evaluator import _input_view

    source = timm.create_model("seresnext26d_32x4d", pretrained=False).eval()
    g = torch.Generator().manual_seed(0)
    for m in source.modules():  # timm zero-inits each unit's last BN: give every branch (and SE) a say
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    hub.add_hub("timm/seresnext26d_32x4d.bt_in1k", "model.safetensors", save(source.state_dict()))
    image = tmp_path / "x.png"
    Image.fromarray((torch.rand(300, 260, 3, generator=g) * 255).byte().numpy()).save(image)
    [row] = senet.predict("seresnext26d_32x4d", [str(image)], pretrained="bt_in1k", top_k=3, device="cpu")
    config = resolve_data_config(
        pretrained_cfg=timm.models.get_pretrained_cfg("seresnext26d_32x4d.bt_in1k").to_dict()
    )
    with torch.no_grad():
        probs = source(create_transform(**config)(Image.open(image).convert("RGB"))[None]).softmax(-1)[0]
    top = probs.topk(3)
    assert [r["index"] for r in row["top"]] == top.indices.tolist()
    torch.testing.assert_close(
        torch.tensor([r["probability"] for r in row["top"]]), top.values, rtol=1e-4, atol=1e-6
    )
    assert _input_view("seresnext26d_32x4d", "bt_in1k") == (224, 0.875, "bicubic")
    assert _input_view("seresnet152d", "ra2_in1k") == (256, 0.95, "bicubic")


def test_a_ts_tag_in_timms_byobnet_layout_predicts_with_its_own_transform(hub, tmp_path):
    """seresnext26ts.ch_in1k from the loopback hub: timm's byobnet keys (stem.conv1.conv, stages.0.0.attn,
    head.fc) renamed on loading, and senet.predict's probabilities equal timm's model on timm's eval
    transform for those weights (256 px, crop 0.9, bicubic)."""
    from PIL import Image
    from timm.data import create_transform, resolve_data_config

    from senet.evaluation.evaluator import _input_view

    torch.manual_seed(0)
    source = timm.create_model("seresnext26ts", pretrained=False).eval()
    g = torch.Generator().manual_seed(0)
    for m in source.modules():  # timm zero-inits each unit's last BN: give every branch (and SE) a say
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    hub.add_hub("timm/seresnext26ts.ch_in1k", "model.safetensors", save(source.state_dict()))
    image = tmp_path / "x.png"
    Image.fromarray((torch.rand(300, 260, 3, generator=g) * 255).byte().numpy()).save(image)
    [row] = senet.predict("seresnext26ts", [str(image)], pretrained="ch_in1k", top_k=3, device="cpu")
    config = resolve_data_config(
        pretrained_cfg=timm.models.get_pretrained_cfg("seresnext26ts.ch_in1k").to_dict()
    )
    assert (config["input_size"], config["crop_pct"]) == ((3, 256, 256), 0.9)
    with torch.no_grad():
        probs = source(create_transform(**config)(Image.open(image).convert("RGB"))[None]).softmax(-1)[0]
    top = probs.topk(3)
    assert [r["index"] for r in row["top"]] == top.indices.tolist()
    torch.testing.assert_close(
        torch.tensor([r["probability"] for r in row["top"]]), top.values, rtol=1e-4, atol=1e-6
    )
    assert _input_view("seresnext26ts", "ch_in1k") == (256, 0.9, "bicubic")


def test_train_init_with_a_full_tag_name_fine_tunes_the_model_it_names(hub, tmp_path):
    """`senet train --init seresnext26d_32x4d.bt_in1k --data digits`: the tag names the model (no --model),
    the loopback hub serves timm's file, the classifier of 1000 classes starts afresh for the 10 digits."""
    from safetensors.torch import load_file

    source = timm.create_model("seresnext26d_32x4d", pretrained=False)
    hub.add_hub("timm/seresnext26d_32x4d.bt_in1k", "model.safetensors", save(source.state_dict()))
    out = tmp_path / "r"
    argv = ["train", "--init", "seresnext26d_32x4d.bt_in1k", "--data", "digits", "--epochs", "1", "--max-batches",
            "1", "--batch-size", "8", "--workers", "0", "--no-progress", "--no-tensorboard", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["model"] == "seresnext26d_32x4d" and config["recipe"]["name"] == "finetune"
    assert config["config"]["reinitialized"] == ["fc.weight", "fc.bias"]  # the rest came from the file
    weights = load_file(out / "model.safetensors")
    assert weights["fc.weight"].shape == (10, 2048)
    torch.testing.assert_close(
        weights["conv1.0.weight"], source.state_dict()["conv1.0.weight"], atol=0.05, rtol=0
    )


def test_a_hub_file_that_differs_from_the_hubs_checksum_is_refused_and_removed(hub, tmp_path):
    good = save(timm.create_model("seresnet50", pretrained=False).state_dict())
    tampered = bytearray(good)
    tampered[-1] ^= 1
    hub.add_hub(
        "timm/seresnet50.a1_in1k", "model.safetensors", bytes(tampered), etag=hashlib.sha256(good).hexdigest()
    )
    with pytest.raises(CheckpointError, match="differs from the hub's checksum; removed it"):
        senet.create_model("se_resnet50", pretrained="timm_a1_in1k")
    assert not [p for p in (tmp_path / "hf").rglob("*") if p.is_file() and p.stat().st_size > 1000]


@pytest.mark.parametrize("layout", ["official", "torchvision"])
def test_url_tags_official_layout_and_torchvision_weights(hub, monkeypatch, layout):
    """The official layout (Cadene's port of the Caffe weights, as timm's legacy_seresnet50) and a torchvision
    ResNet-50 file, each under a name carrying its SHA-256 prefix, served through SENET_WEIGHTS_BASE_URL."""
    if layout == "official":
        source, model, folder = (
            timm.create_model("legacy_seresnet50", pretrained=False),
            "se_resnet50",
            "v0.1-cadene",
        )
    else:
        source, model, folder = torchvision.models.resnet50(), "resnet50", "models"
    data = _pth(source)
    name = f"{model}-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    hub.add(f"/{folder}/{name}", data)
    options = {} if layout == "official" else {"layout": "torchvision"}
    tag = _add_tag(monkeypatch, P.Tag(model, "loopback", f"https://example.org/{folder}/{name}", "test", None, None,
                                      "test", options=options))  # fmt: skip
    net = senet.create_model(model, pretrained="loopback")
    torch.testing.assert_close(_logits(net), _logits(source))
    assert net.layout == layout and tag.check.startswith("SHA-256 starts with")
    hub.stop()
    torch.testing.assert_close(_logits(senet.create_model(model, pretrained="loopback")), _logits(source))


def test_the_legacy_se_resnext26_file_computes_timms_logits(tmp_path):
    """se_resnext26_32x4d.timm_in1k is timm's legacy_seresnext26_32x4d (Cadene's keys, the official layout):
    a file of that model loads into senet's row and computes timm's logits."""
    source = timm.create_model("legacy_seresnext26_32x4d", pretrained=False).eval()
    g = torch.Generator().manual_seed(0)
    for m in source.modules():  # give every unit's last BN (zero-initialised by timm) and SE a say
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    (tmp_path / "w.pth").write_bytes(_pth(source))
    tag = P.get_tag("se_resnext26_32x4d", True)
    net = senet.create_model(tag.model, checkpoint=tmp_path / "w.pth", **tag.options)
    assert net.layout == "official" and tag.interpolation == "bicubic"
    torch.testing.assert_close(_logits(net), _logits(source))
    assert senet.complexity("se_resnext26_32x4d").params == sum(p.numel() for p in source.parameters())


@pytest.mark.parametrize("depth", [18, pytest.param(34, marks=pytest.mark.slow)])  # the same unit
def test_the_legacy_se_resnet18_34_files_compute_timms_logits(tmp_path, depth):
    """se_resnet18/34.timm_in1k are timm's legacy_seresnet18/34 (Cadene's keys, the official layout, and
    timm's legacy basic unit with a ReLU after bn2): the tag's branch_relu=True builds that unit, and a file of
    timm's model computes timm's logits; without it the file is refused (another function, same keys)."""
    source = timm.create_model(f"legacy_seresnet{depth}", pretrained=False).eval()
    g = torch.Generator().manual_seed(0)
    for m in source.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    (tmp_path / "w.pth").write_bytes(_pth(source))
    tag = P.get_tag(f"se_resnet{depth}", True)
    assert tag.name == f"se_resnet{depth}.timm_in1k" and tag.options == {"branch_relu": True}
    net = senet.create_model(tag.model, checkpoint=tmp_path / "w.pth", **tag.options)
    assert net.layout == "official" and net.spec.branch_relu
    torch.testing.assert_close(_logits(net), _logits(source), rtol=1e-5, atol=1e-5)
    assert senet.complexity(tag.model).params == sum(p.numel() for p in source.parameters())
    with pytest.raises(CheckpointError, match="extra ReLU after bn2.*branch_relu=True"):
        senet.create_model(tag.model, checkpoint=tmp_path / "w.pth")


@pytest.mark.slow  # SENet-154 for real: 115M parameters (its keys and shapes: the hub-tag test above)
def test_the_gluon_senet154_file_computes_timms_logits(tmp_path):
    """senet154.gluon_in1k is timm's resnet.py senet154: the torchvision layout, and its deep stem keyed
    conv1.0 .. conv1.6, bn1, which loading renames to SENet-154's conv1..conv3, bn1..bn3."""
    source = timm.create_model("senet154", pretrained=False).eval()
    g = torch.Generator().manual_seed(0)
    for m in source.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.weight.data.uniform_(0.5, 1.5, generator=g)
            m.running_var.uniform_(0.5, 1.5, generator=g)
    (tmp_path / "w.safetensors").write_bytes(save(source.state_dict()))
    tag = P.get_tag("senet154", "gluon_in1k")
    net = senet.create_model(tag.model, checkpoint=tmp_path / "w.safetensors", **tag.options)
    assert net.layout == "torchvision"
    torch.testing.assert_close(_logits(net), _logits(source), rtol=1e-5, atol=1e-5)
    assert senet.complexity(tag.model).params == sum(p.numel() for p in source.parameters())
    with pytest.raises(CheckpointError, match="torchvision layout"):  # the stem pool of timm's layout
        senet.create_model(tag.model, checkpoint=tmp_path / "w.safetensors")


def test_a_torchvision_file_whose_hash_is_not_its_names_is_refused(hub, tmp_path):
    hub.add(
        "/models/resnet50-0676ba61.pth", _pth(torchvision.models.resnet50())
    )  # the real tag's name, other bytes
    with pytest.raises(CheckpointError, match="nothing was kept"):
        senet.create_model("resnet50", pretrained="tv_in1k")
    assert not list((tmp_path / "torch").rglob("*.pth"))


def test_offline_without_a_cached_file_is_one_line_naming_where_to_put_it(hub, tmp_path, monkeypatch):
    hub.stop()
    with pytest.raises(CheckpointError, match=r"put the file at .*resnet50-0676ba61\.pth"):
        senet.create_model("resnet50", pretrained="tv_in1k")
    # (with the network gone and no cached copy huggingface_hub retries for ~23 s before the same message)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CheckpointError, match="HF_HUB_OFFLINE"):
        senet.create_model("se_resnet50", pretrained="timm_a1_in1k")
    argv = ["predict", "--model", "resnet50", "--pretrained", "tv_in1k", str(tmp_path / "x.jpg")]
    assert main(argv) == 2


def test_another_class_count_keeps_a_fresh_classifier(hub):
    source = torchvision.models.resnet18()
    data = _pth(source)
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    hub.add(f"/models/{name}", data)
    P.tags()["resnet18.loopback"] = P.Tag("resnet18", "loopback", f"https://example.org/models/{name}", "test",
                                          None, None, "test", options={"layout": "torchvision"})  # fmt: skip
    try:
        net = senet.create_model("resnet18", pretrained="loopback", num_classes=7)
        from senet.evaluation.evaluator import evaluate

        with pytest.raises(senet.SenetError, match="their classifier would be random"):  # 1000 classes vs 10
            evaluate("resnet18", pretrained="loopback", data="digits", workers=0, device="cpu")
    finally:
        del P.tags()["resnet18.loopback"]
    assert net.reinitialized == ["fc.weight", "fc.bias"] and net.fc.out_features == 7
    torch.testing.assert_close(net.layer4[1].conv2.weight, source.layer4[1].conv2.weight)


def test_a_tag_of_another_class_count_builds_its_own_head_and_fine_tunes(hub, tmp_path):
    """A tag whose file has another class count (as timm's ImageNet-12k weights, 11821): the model is built
    with the file's head by default (model_info says so), and fine-tuning starts from it as from any tag."""
    source = torchvision.models.resnet18(num_classes=5)
    data = _pth(source)
    name = f"resnet18-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    hub.add(f"/models/{name}", data)
    P.tags()["resnet18.five"] = P.Tag("resnet18", "five", f"https://example.org/models/{name}", "test", None, None,
                                      "test", options={"layout": "torchvision"}, num_classes=5)  # fmt: skip
    try:
        assert senet.model_info("resnet18", "five").num_classes == 5
        net = senet.create_model("resnet18", pretrained="five")
        out = senet.train(model="resnet18", init="pretrained:five", data="digits", epochs=1, max_batches=1,
                          batch_size=16, workers=0, progress=False, tensorboard=False, out=str(tmp_path / "r"),
                          model_options={"layout": "torchvision"})  # fmt: skip
    finally:
        del P.tags()["resnet18.five"]
    assert net.fc.out_features == 5 and net.reinitialized == [] and net.default_cfg["num_classes"] == 5
    torch.testing.assert_close(_logits(net), _logits(source))
    assert (tmp_path / "r" / "model.safetensors").exists() and out["num_classes"] == 10


def test_tags_are_a_table_with_cards():
    names = P.list_pretrained()
    assert (
        "se_resnet50.caffe_in1k" in names
        and "resnet50.tv_in1k" in names
        and "se_resnet50.timm_a1_in1k" in names
    )
    assert P.get_tag("se_resnet50", True).name == "se_resnet50.caffe_in1k"  # the paper's weights by default
    for name, t in P.tags().items():
        assert t.model in senet.list_models(), name
        with torch.device("meta"):
            senet.create_model(t.model, **t.options)  # the options the file needs are the model's
        assert t.license and t.evaluated and t.check
    tv = P.get_tag("resnet50", "tv2_in1k")  # read from torchvision's own metadata
    w = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
    assert tv.top1 == pytest.approx(100 - w.meta["_metrics"]["ImageNet-1K"]["acc@1"]) and tv.url == w.url
    info = senet.model_info("se_resnet50", "timm_a1_in1k")
    assert info.crop_pct == 0.95 and info.pretrained["license"] == "apache-2.0"
    with pytest.raises(senet.SenetError, match="its tags: caffe_in1k, timm_a1_in1k, timm_a2_in1k"):
        senet.create_model("se_resnet50", pretrained="nope")
    with pytest.raises(senet.SenetError, match="no pretrained weights for se_vgg16_bn"):
        senet.create_model("se_vgg16_bn", pretrained=True)
    with pytest.raises(senet.SenetError, match="need layout='torchvision'"):
        senet.create_model("resnet50", pretrained="tv_in1k", layout="official")


@pytest.mark.parametrize("name", [n for n, t in P.tags().items() if t.url.startswith("hf://timm/")])
def test_every_timm_hub_tag_has_its_files_keys_and_shapes(name):
    """The file of a timm hub tag is ``timm.create_model(<hub model>).state_dict()``: the tag's model, with
    the options the tag sets and the file's class count, holds exactly those keys and shapes (both built on the
    meta device)."""
    t = P.tags()[name]
    hub_model = t.url[len("hf://timm/") :].split(".")[0]
    with torch.device("meta"):
        theirs = timm.create_model(hub_model, num_classes=t.num_classes).state_dict()
        ours = senet.create_model(t.model, num_classes=t.num_classes, **t.options).state_dict()
    theirs = convert_state_dict(theirs, ours)  # as loading renames them (byobnet; senet154's deep stem)
    theirs, ours = ({k: tuple(v.shape) for k, v in sd.items()} for sd in (theirs, ours))
    assert ours == theirs
    if "layout" in senet.model_options(
        t.model
    ):  # timm's ResNets stride on the 3x3: the same keys, not the same net
        assert t.options.get("layout") == "torchvision", name


def test_every_se_resnet_weight_timm_publishes_is_a_tag():
    """timm's SE-ResNet family (its legacy_se*, se*res* and senet154 weights, 31 in timm 1.0): each is a tag,
    by its hub repository or the release URL timm itself downloads from (docs/models.md)."""
    published = {
        n
        for pattern in ("legacy_se*", "*se*res*", "senet154*")
        for n in timm.list_pretrained(pattern)
        if not n.startswith("densenet")  # "den-se-net": not SE
    }
    ours = {t.url for t in P.tags().values()}
    for name in sorted(published):
        cfg = timm.models.get_pretrained_cfg(name)
        hub = f"hf://{cfg.hf_hub_id}/model.safetensors" if cfg.hf_hub_id else None
        assert hub in ours or cfg.url in ours, name
    se_tags = [t for t in P.tags().values() if senet.model_info(t.model).se]
    assert len(published) >= 31 and len(se_tags) >= len(published)


def test_list_pretrained_cli(capsys):
    assert main(["list", "--pretrained"]) == 0
    out = capsys.readouterr().out
    assert "se_resnet50.caffe_in1k" in out and "resnet50.tv2_in1k" in out
    assert main(["list", "--pretrained", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    row = next(r for r in rows if r["name"] == "se_resnet50.caffe_in1k")
    assert row["params"] == 28_088_024 and row["gflops"] > 3.8 and row["license"] == "apache-2.0"
    assert main(["list", "seresnextaa101d_32x8d.sw_in12k", "--pretrained", "--json"]) == 0
    [row] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    with torch.device("meta"):  # the params of the file's network: its 11821-class head
        timm12k = timm.create_model("seresnextaa101d_32x8d", num_classes=11821)
    assert row["num_classes"] == 11821 and row["params"] == sum(p.numel() for p in timm12k.parameters())


def test_torch_hub_loads_from_a_local_clone():
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[1])
    model = torch.hub.load(repo, "se_resnet50", source="local", pretrained=False)
    assert model.model_name == "se_resnet50" and sum(p.numel() for p in model.parameters()) == 28_088_024
    import runpy

    entries = runpy.run_path(str(Path(repo) / "hubconf.py"))
    public = {k for k, v in entries.items() if callable(v) and not k.startswith("_")}
    assert public == set(senet.list_models())  # every model, and nothing else, is an entry point
    small = torch.hub.load(repo, "resnet20_cifar", source="local", num_classes=3)
    assert small(torch.randn(1, 3, 32, 32)).shape == (1, 3)


def test_the_readme_shows_the_tag_table(capsys):
    """README's tag table is `senet list --pretrained` as it prints (SENET_REGEN_DOCS=1 rewrites it)."""
    from docblock import check_block

    assert main(["list", "--pretrained"]) == 0
    table = capsys.readouterr().out.rstrip("\n")
    check_block("README.md", "pretrained-table", f"```\n$ senet list --pretrained\n{table}\n```")


def test_a_hub_file_in_the_official_layout(hub, monkeypatch):
    """The hub path with Cadene-style keys (the official layout): the table serves its official-layout tags
    from timm's GitHub releases, where timm itself gets them, but a hub copy loads the same way."""
    source = timm.create_model("legacy_seresnet50", pretrained=False)
    hub.add_hub("someone/legacy_seresnet50", "model.safetensors", save(source.state_dict()))
    _add_tag(monkeypatch, P.Tag("se_resnet50", "hubcopy", "hf://someone/legacy_seresnet50/model.safetensors",
                                "test", None, None, "test"))  # fmt: skip
    net = senet.create_model("se_resnet50", pretrained="hubcopy")
    assert net.layout == "official"
    torch.testing.assert_close(_logits(net), _logits(source))


@pytest.mark.parametrize(
    "name,value,expected",
    [
        (
            "SENET_WEIGHTS_BASE_URL",
            "mirror.local/weights",
            r"SENET_WEIGHTS_BASE_URL='mirror.local/weights' is not",
        ),
        ("SENET_WEIGHTS_BASE_URL", "http://", r"is not a URL: set it to http://HOST"),
        ("HF_HUB_OFFLINE", "y", r"HF_HUB_OFFLINE='y' is neither on nor off"),
    ],
)
def test_environment_variables_are_checked_where_they_are_read(hub, monkeypatch, name, value, expected):
    """A malformed setting is one line naming the variable, before any download or cache look-up."""
    monkeypatch.setenv(name, value)
    with pytest.raises(senet.SenetError, match=expected):
        senet.create_model("resnet18", pretrained="tv_in1k")
    assert hub.requests == []


def test_a_cache_variable_naming_a_file_is_refused(hub, monkeypatch, tmp_path):
    (tmp_path / "home").write_text("a file\n")
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    with pytest.raises(senet.SenetError, match=r"HF_HOME=.*home' is a file, not a directory"):
        senet.create_model("se_resnet50", pretrained="timm_a1_in1k")
    assert hub.requests == []


def test_a_file_url_mirror_is_a_url(hub, monkeypatch, tmp_path):
    """``file:///PATH`` is a mirror on a shared file system (urllib reads it)."""
    source = torchvision.models.resnet18()
    name = "/models/resnet18-f37072fd.pth"
    (tmp_path / "models").mkdir()
    (tmp_path / name.lstrip("/")).write_bytes(_pth(source))
    monkeypatch.setenv("SENET_WEIGHTS_BASE_URL", f"file://{tmp_path}")
    # the bytes are not torchvision's, so the name's SHA-256 prefix refuses them: the URL itself was read
    with pytest.raises(CheckpointError, match="nothing was kept"):
        senet.create_model("resnet18", pretrained="tv_in1k")
