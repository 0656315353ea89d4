"""Pretrained weights by tag: ``create_model("se_resnet50", pretrained=True)`` or ``pretrained="TAG"``.

The tags are a table (:data:`TAGS`): for each, where the file lives, the model options it needs, its
license, the accuracy its source publishes with the evaluation transform that source used, and what can be
checked about the file. Downloads use the ecosystem's own tools and caches, and happen only when asked:

- Hugging Face hub files (``hf://REPO/FILE``) through ``huggingface_hub`` (its cache, ``HF_HUB_OFFLINE``,
  its progress bar; ``HF_ENDPOINT`` for a mirror); the file's SHA-256 must equal the hub's own checksum
  (the ETag of an LFS file, which names the cached blob).
- Other files (torchvision's, Facebook's) through ``torch.hub`` into ``$TORCH_HOME/hub/checkpoints``; their
  names carry a SHA-256 prefix, which is checked. ``SENET_WEIGHTS_BASE_URL`` replaces the scheme and host
  of these URLs (a mirror inside a cluster).

Without network and without a cached copy the error is one line naming the file and where to put it.
Each variable is checked where it is read: a URL that is none, a cache directory that is a file, or an
``HF_HUB_OFFLINE`` that is neither on nor off is one line naming the variable and the form it must take.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import CheckpointError, SenetError, SenetTypeError

IMAGENET = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "num_classes": 1000}
TIMM = "timm's results-imagenet.csv (224, crop 0.875, bilinear: the eval transform of these weights)"
CADENE = ("the authors' Caffe weights (hujie-frank/SENet) as Cadene ported them, released by timm; the authors "
          "publish {} top-1/top-5 error for the Caffe originals")  # fmt: skip
TV = "torchvision: its weights' metadata (acc@1/acc@5), its evaluation transform"


@dataclass(frozen=True)
class Tag:
    """One pretrained file: ``model.tag``. ``top1``/``top5`` are **errors** (%) as the source publishes them
    (converted from accuracy where it publishes that), with ``evaluated`` saying how it evaluated."""

    model: str
    tag: str
    url: str  # hf://<repo>/<file> or https://...
    license: str
    top1: float | None
    top5: float | None
    evaluated: str  # who published the numbers, with which transform
    crop_pct: float = 0.875
    interpolation: str = "bilinear"
    input_size: int = 224
    options: dict = field(default_factory=dict)  # model options the file needs
    note: str = ""
    num_classes: int = 1000  # the classifier's outputs in the file (ImageNet-12k weights: 11821)

    @property
    def name(self) -> str:
        return f"{self.model}.{self.tag}"

    @property
    def check(self) -> str:
        """What is verified about the downloaded file."""
        if self.url.startswith("hf://"):
            return "SHA-256 equals the hub's checksum (ETag)"
        prefix = _hash_prefix(self.url)
        return f"SHA-256 starts with {prefix} (the file name's)" if prefix else "none published"

    def cfg(self) -> dict:
        """The preprocessing the weights expect, as ``model.default_cfg`` keys (timm's ``pretrained_cfg``)."""
        return {
            "input_size": (3, self.input_size, self.input_size),
            "crop_pct": self.crop_pct,
            "interpolation": self.interpolation,
            "mean": IMAGENET["mean"],
            "std": IMAGENET["std"],
            "num_classes": self.num_classes,
            "pretrained": self.name,
            "license": self.license,
        }

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "model": self.model,
            "tag": self.tag,
            "url": self.url,
            "options": dict(self.options),
            "license": self.license,
            "top1_error": self.top1,
            "top5_error": self.top5,
            "evaluated": self.evaluated,
            "check": self.check,
            **{k: v for k, v in self.cfg().items() if k not in ("pretrained", "license")},
            "note": self.note,
        }


def _caffe(model, file, top1, top5, authors):
    """The authors' model through timm's release of Cadene's port (official layout: the paper's network)."""
    base = "https://github.com/rwightman/pytorch-image-models/releases/download"
    return Tag(
        model, "caffe_in1k", f"{base}/{file}", "apache-2.0", top1, top5, TIMM, note=CADENE.format(authors)
    )


def _tv(model, tag, weights: str, note="", **kw):
    """A torchvision weight: URL, accuracy and transform read from torchvision's own metadata."""
    import torchvision.models as M

    enum, member = weights.split(".")
    w = getattr(getattr(M, enum), member)
    t = w.transforms()
    acc = w.meta["_metrics"]["ImageNet-1K"]
    return Tag(
        model,
        tag,
        w.url,
        "bsd-3-clause",
        round(100 - acc["acc@1"], 3),
        round(100 - acc["acc@5"], 3),
        f"{TV} ({weights}: resize {t.resize_size[0]}, crop {t.crop_size[0]})",
        crop_pct=t.crop_size[0] / t.resize_size[0],
        interpolation=t.interpolation.value,
        input_size=t.crop_size[0],
        options={"layout": "torchvision", **kw},
        note=note,
    )


def _timm(model, hub, top1, top5, size, crop, other, note, tag=None, num_classes=1000):
    """A timm hub weight (``timm/<hub>``, torchvision layout): its errors at the input size and crop of its
    pretrained config, as timm's results-imagenet.csv publishes them (``other``: another row of it; None
    for ImageNet-12k weights, which it does not evaluate). ``tag``: timm's own tag (default: ``timm_`` and
    timm's tag for the paper's model names, which have tags of other sources)."""
    own = hub.split(".", 1)[1]
    tag = tag or (own if own.startswith("gluon") else f"timm_{own}")
    if top1 is None:
        where = (
            f"timm (ImageNet-12k, {num_classes} classes: no ImageNet-1k errors; {size}, crop {crop}, bicubic)"
        )
    else:
        where = f"timm's results-imagenet.csv ({size}, crop {crop}, bicubic{'; ' + other if other else ''})"
    return Tag(model, tag, f"hf://timm/{hub}/model.safetensors", "apache-2.0", top1, top5, where, crop_pct=crop,
               interpolation="bicubic", input_size=size, options={"layout": "torchvision"}, note=note,
               num_classes=num_classes)  # fmt: skip


def _table() -> list[Tag]:
    tv = "torchvision's own weights; its ResNets are the `torchvision` layout (stride on the 3x3)"
    return [
        # The authors' models (Table 2's released column), official layout: the paper's networks.
        _caffe("se_resnet50", "v0.1-cadene/se_resnet50-ce0d4300.pth", 22.35, 6.268, "22.37/6.36"),
        _caffe("se_resnet101", "v0.1-cadene/se_resnet101-7e38fcc6.pth", 21.63, 5.736, "21.75/5.72"),
        _caffe("se_resnet152", "v0.1-cadene/se_resnet152-d17c99b7.pth", 21.338, 5.63, "21.34/5.54"),
        _caffe("se_resnext50_32x4d", "v0.1-weights/legacy_se_resnext50_32x4d-f3651bad.pth", 20.92, 5.572,
               "20.97/5.54"),
        _caffe("se_resnext101_32x4d", "v0.1-weights/legacy_se_resnext101_32x4d-37725eac.pth", 19.726, 4.968,
               "19.81/4.96"),
        _caffe("senet154", "v0.1-weights/legacy_senet154-e9eb9fe6.pth", 18.68, 4.498, "18.68/4.47"),
        # Trained by timm in Cadene's SENet code (timm's legacy_seresnext26_32x4d): the official layout.
        Tag("se_resnext26_32x4d", "timm_in1k",
            "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
            "seresnext26_32x4d-65ebdb501.pth", "apache-2.0", 22.900, 6.668,
            "timm's results-imagenet.csv (224, crop 0.875, bicubic)", interpolation="bicubic",
            note="timm's legacy_seresnext26_32x4d: SE-ResNeXt-26 32x4d in the official layout"),
        # Trained by timm in its legacy SENet code (senet.py, Cadene's port; timm's legacy_seresnet18/34): the
        # official layout, and that code's basic unit, whose branch ends in a ReLU after bn2 (branch_relu=True;
        # docs/models.md).
        Tag("se_resnet18", "timm_in1k",
            "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
            "seresnet18-4bb0ce65.pth", "apache-2.0", 28.258, 9.660,
            "timm's results-imagenet.csv (224, crop 0.875, bicubic)", interpolation="bicubic",
            options={"branch_relu": True},
            note="timm's legacy_seresnet18: SE-ResNet-18 with its legacy basic unit (a ReLU after bn2, before "
                 "SE and the addition), official layout"),
        Tag("se_resnet34", "timm_in1k",
            "https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/"
            "seresnet34-a4004e63.pth", "apache-2.0", 25.212, 7.866,
            "timm's results-imagenet.csv (224, crop 0.875, bilinear)", options={"branch_relu": True},
            note="timm's legacy_seresnet34: SE-ResNet-34 with its legacy basic unit (a ReLU after bn2, before "
                 "SE and the addition), official layout"),
        # timm's own SE weights, trained with modern recipes: torchvision layout.
        Tag("se_resnet50", "timm_a1_in1k", "hf://timm/seresnet50.a1_in1k/model.safetensors", "apache-2.0",
            19.988, 5.296, "timm's results-imagenet.csv (224, crop 0.95, bicubic; 18.886/4.878 at 288, crop 1.0)",
            crop_pct=0.95, interpolation="bicubic", options={"layout": "torchvision"},
            note="SE-ResNet-50 trained by timm with the A1 recipe (600 epochs, LAMB, BCE)"),
        Tag("se_resnext50_32x4d", "timm_racm_in1k", "hf://timm/seresnext50_32x4d.racm_in1k/model.safetensors",
            "apache-2.0", 18.732, 4.376, "timm's results-imagenet.csv (224, crop 0.875, bicubic; 17.814/3.854 at 288)",
            crop_pct=0.875, interpolation="bicubic", options={"layout": "torchvision"}),
        _timm("se_resnet50", "seresnet50.a2_in1k", 19.898, 5.280, 224, 0.95, "18.906/4.770 at 288, crop 1.0",
              "trained by timm with the A2 recipe (300 epochs, LAMB, BCE)"),
        _timm("se_resnet50", "seresnet50.a3_in1k", 24.896, 7.904, 160, 0.95, "22.964/6.928 at 224, crop 0.95",
              "trained by timm with the A3 recipe (100 epochs at 160 px, LAMB, BCE)"),
        _timm("se_resnet50", "seresnet50.ra2_in1k", 19.740, 4.932, 224, 0.875, "18.712/4.348 at 288, crop 0.95",
              "trained by timm with RandAugment (RA2 recipe)"),
        _timm("se_resnext50_32x4d", "seresnext50_32x4d.gluon_in1k", 20.084, 5.184, 224, 0.875, "",
              "GluonCV's weights (MXNet), ported by timm"),
        _timm("se_resnext101_32x4d", "seresnext101_32x4d.gluon_in1k", 19.114, 4.732, 224, 0.875, "",
              "GluonCV's weights (MXNet), ported by timm"),
        _timm("senet154", "senet154.gluon_in1k", 18.742, 4.642, 224, 0.875, "",
              "GluonCV's weights (MXNet), ported by timm as its resnet.py senet154 (torchvision layout; the deep "
              "stem's keys conv1.0 .. conv1.6, bn1 renamed to SENet-154's on loading)"),
        # timm's SE-ResNet-D family (docs/models.md, "Beyond the paper"): timm's names and tags.
        _timm("seresnet152d", "seresnet152d.ra2_in1k", 16.298, 3.206, 256, 0.95, "15.656/2.956 at 320, crop 1.0",
              "ResNet-D with SE, trained by timm with RandAugment (RA2)", tag="ra2_in1k"),
        _timm("seresnext26d_32x4d", "seresnext26d_32x4d.bt_in1k", 22.408, 6.386, 224, 0.875,
              "21.184/5.734 at 288, crop 0.95", "trained by timm (bag of tricks)", tag="bt_in1k"),
        _timm("seresnext26t_32x4d", "seresnext26t_32x4d.bt_in1k", 22.020, 6.250, 224, 0.875,
              "21.264/5.682 at 288, crop 0.95", "trained by timm (bag of tricks)", tag="bt_in1k"),
        _timm("seresnext101_32x8d", "seresnext101_32x8d.ah_in1k", 16.382, 3.588, 224, 0.95,
              "15.808/3.140 at 288, crop 1.0", "trained by timm (the 'ah' recipe)", tag="ah_in1k"),
        _timm("seresnext101_64x4d", "seresnext101_64x4d.gluon_in1k", 19.116, 4.692, 224, 0.875, "",
              "GluonCV's weights (MXNet), ported by timm", tag="gluon_in1k"),
        _timm("seresnext101d_32x8d", "seresnext101d_32x8d.ah_in1k", 16.298, 3.380, 224, 0.95,
              "15.620/3.082 at 288, crop 1.0", "trained by timm (the 'ah' recipe)", tag="ah_in1k"),
        _timm("seresnextaa101d_32x8d", "seresnextaa101d_32x8d.ah_in1k", 16.100, 3.352, 224, 0.95,
              "15.420/2.938 at 288, crop 1.0", "trained by timm (the 'ah' recipe)", tag="ah_in1k"),
        _timm("seresnextaa101d_32x8d", "seresnextaa101d_32x8d.sw_in12k_ft_in1k_288", 13.470, 1.906, 288, 0.95,
              "13.278/1.816 at 320, crop 1.0", "pre-trained on ImageNet-12k, fine-tuned on ImageNet-1k at 288",
              tag="sw_in12k_ft_in1k_288"),
        _timm("seresnextaa101d_32x8d", "seresnextaa101d_32x8d.sw_in12k_ft_in1k", 14.044, 2.176, 224, 0.875,
              "13.476/1.966 at 288, crop 1.0", "pre-trained on ImageNet-12k, fine-tuned on ImageNet-1k",
              tag="sw_in12k_ft_in1k"),
        _timm("seresnextaa101d_32x8d", "seresnextaa101d_32x8d.sw_in12k", None, None, 224, 0.95, "",
              "ImageNet-12k (11821 classes): no ImageNet-1k errors; fine-tune it (--init)", tag="sw_in12k",
              num_classes=11821),
        _timm("seresnextaa201d_32x8d", "seresnextaa201d_32x8d.sw_in12k_ft_in1k_384", 12.696, 1.666, 384, 1.0, "",
              "pre-trained on ImageNet-12k, fine-tuned on ImageNet-1k at 384", tag="sw_in12k_ft_in1k_384"),
        _timm("seresnextaa201d_32x8d", "seresnextaa201d_32x8d.sw_in12k", None, None, 320, 0.95, "",
              "ImageNet-12k (11821 classes): no ImageNet-1k errors; fine-tune it (--init)", tag="sw_in12k",
              num_classes=11821),
        # timm's byobnet ts networks (tiered stem, SiLU, SE on the mid channels; docs/models.md), and the
        # plain twins' weights (resnet33ts: its SE twin's RA2 recipe, a like-for-like SE-vs-plain pair;
        # resnext26ts: RA2, where its SE twin's is timm's "ch").
        _timm("seresnext26ts", "seresnext26ts.ch_in1k", 22.140, 6.210, 256, 0.9, "21.708/5.924 at 288, crop 1.0",
              "ResNeXt-26-ts with SE (timm's byobnet: tiered stem, SiLU, SE on the mid channels), trained by "
              "timm", tag="ch_in1k"),
        _timm("seresnet33ts", "seresnet33ts.ra2_in1k", 19.620, 4.894, 256, 0.9, "19.186/4.654 at 288, crop 1.0",
              "ResNet-33-ts with SE (timm's byobnet: tiered stem, SiLU, SE on the mid channels, 1280-wide final "
              "conv), trained by timm with RandAugment (RA2)", tag="ra2_in1k"),
        _timm("resnext26ts", "resnext26ts.ra2_in1k", 23.232, 6.862, 256, 0.9, "22.814/6.530 at 288, crop 1.0",
              "seresnext26ts without SE, trained by timm with RandAugment (RA2)", tag="ra2_in1k"),
        _timm("resnet33ts", "resnet33ts.ra2_in1k", 20.784, 5.424, 256, 0.9, "20.290/5.182 at 288, crop 1.0",
              "seresnet33ts without SE, trained by timm with RandAugment (RA2): the SE twin's recipe",
              tag="ra2_in1k"),
        # torchvision's plain twins, whose layout matches.
        _tv("resnet18", "tv_in1k", "ResNet18_Weights.IMAGENET1K_V1", tv),
        _tv("resnet34", "tv_in1k", "ResNet34_Weights.IMAGENET1K_V1", tv),
        _tv("resnet50", "tv_in1k", "ResNet50_Weights.IMAGENET1K_V1", tv),
        _tv("resnet50", "tv2_in1k", "ResNet50_Weights.IMAGENET1K_V2", tv + "; trained with torchvision's 2021 recipe"),
        _tv("resnet101", "tv_in1k", "ResNet101_Weights.IMAGENET1K_V1", tv),
        _tv("resnet152", "tv_in1k", "ResNet152_Weights.IMAGENET1K_V1", tv),
        _tv("resnext50_32x4d", "tv_in1k", "ResNeXt50_32X4D_Weights.IMAGENET1K_V1", tv),
        # Table 9's comparison row: Mahajan et al.'s weakly supervised ResNeXt-101 32x48d (torch.hub).
        Tag("resnext101_32x48d", "ig_in1k", "https://download.pytorch.org/models/ig_resnext101_32x48-3e41cc8a.pth",
            "cc-by-nc-4.0", 14.6, 2.4, "Mahajan et al. 2018 / facebookresearch/WSL-Images (224 centre crop); "
            "the paper's Table 9 row", options={"layout": "torchvision"},
            note="pre-trained on 940M Instagram images, fine-tuned on ImageNet; non-commercial license"),
    ]  # fmt: skip


_TAGS: dict[str, Tag] | None = None


def tags() -> dict[str, Tag]:
    """Every tag, ``{"model.tag": Tag}``; the first tag of a model is its default."""
    global _TAGS
    if _TAGS is None:
        _TAGS = {t.name: t for t in _table()}
    return _TAGS


def list_pretrained(pattern: str = "*") -> list[str]:
    """``model.tag`` names matching a shell-style pattern, in the table's order."""
    import fnmatch

    if not isinstance(pattern, str):
        raise SenetTypeError(f"a tag pattern must be a string, got {type(pattern).__name__}")
    return [n for n in tags() if fnmatch.fnmatch(n, pattern)]


def get_tag(model: str, pretrained) -> Tag:
    """The tag ``pretrained`` names for ``model``: True for its default, or a tag (``"caffe_in1k"``, or the
    full ``"se_resnet50.caffe_in1k"``); an unknown one fails with the model's tags."""
    own = [t for t in tags().values() if t.model == model]
    if pretrained is True:
        if not own:
            raise SenetError(f"no pretrained weights for {model}; `senet list --pretrained` shows the tags")
        return own[0]
    if not isinstance(pretrained, str) or isinstance(pretrained, bool):
        raise SenetTypeError(f"pretrained must be True or a tag name, got {pretrained!r}")
    name = pretrained if "." in pretrained else f"{model}.{pretrained}"
    if name in tags() and tags()[name].model == model:
        return tags()[name]
    choices = ", ".join(t.tag for t in own) or "none"
    raise SenetError(
        f"unknown tag {pretrained!r} for {model} (its tags: {choices}; see `senet list --pretrained`)"
    )


def tag_named(name) -> Tag | None:
    """The tag a full name ``MODEL.TAG`` names (``--init seresnext26d_32x4d.bt_in1k``), or None. A name that
    is both a tag and a file is refused: which one is meant cannot be told."""
    if not isinstance(name, str) or name not in tags():
        return None
    if Path(name).exists():
        raise SenetError(
            f"{name!r} is both a pretrained tag and a file here; give ./{name} for the file or "
            f"pretrained:{tags()[name].tag} (with --model {tags()[name].model}) for the tag"
        )
    return tags()[name]


def _hash_prefix(url: str) -> str | None:
    m = re.search(r"-([a-f0-9]{6,})\.", Path(urlsplit(url).path).name)
    return m.group(1) if m else None


def _mirror(url: str) -> str:
    base = _env_url("SENET_WEIGHTS_BASE_URL", ("http", "https", "file"))
    if not base:
        return url
    parts = urlsplit(url)
    return base.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    """The URL an environment variable holds (None when unset or empty); anything else is one line naming
    the variable and the form it must take."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in schemes or not (parts.netloc or parts.scheme.lower() == "file"):
        forms = " or ".join(f"{s}://HOST/..." if s != "file" else "file:///PATH" for s in schemes)
        raise SenetError(f"{name}={value!r} is not a URL: set it to {forms}, or unset it")
    return value


def _env_dir(name: str) -> str | None:
    """A directory an environment variable names (None when unset or empty); an existing file is refused."""
    value = os.environ.get(name, "").strip()
    if value and os.path.exists(value) and not os.path.isdir(value):
        raise SenetError(f"{name}={value!r} is a file, not a directory: point it at a directory, or unset it")
    return value or None


def download(tag: Tag, progress: bool = True) -> Path:
    """The tag's file in the local cache, downloaded (and checked) if it is not there yet."""
    if tag.url.startswith("hf://"):
        return _from_hub(tag, progress)
    return _from_url(tag, progress)


def _from_hub(tag: Tag, progress: bool) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo, filename = tag.url[len("hf://") :].rsplit("/", 1)
    # huggingface_hub reads its environment once, at import: read it now, so a setting made later counts
    endpoint = _env_url("HF_ENDPOINT", ("http", "https"))
    home = _env_dir("HF_HOME")
    cache = _env_dir("HF_HUB_CACHE") or (os.path.join(home, "hub") if home else None)
    offline = _offline()
    quiet = logging.getLogger("huggingface_hub")  # its retry warnings: the error below is the one line
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        path = Path(
            hf_hub_download(
                repo,
                filename,
                endpoint=endpoint,
                cache_dir=cache,
                local_files_only=offline,
                tqdm_class=_bar(progress),
            )
        )
    except LocalEntryNotFoundError:
        from huggingface_hub.constants import HF_HUB_CACHE

        raise CheckpointError(
            f"cannot download {tag.url} (no network, or HF_HUB_OFFLINE) and it is not cached: run once with "
            f"network, point HF_ENDPOINT at a mirror, or put the hub repository {repo} in {cache or HF_HUB_CACHE}"
        ) from None
    except OSError as e:  # HTTP errors subclass OSError in huggingface_hub
        raise CheckpointError(f"cannot download {tag.url}: {str(e).splitlines()[0]}") from None
    finally:
        quiet.setLevel(level)
    blob = path.resolve()
    if re.fullmatch(r"[0-9a-f]{64}", blob.name):  # an LFS file: the blob is named by the hub's SHA-256
        if _sha256(blob) != blob.name:
            blob.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise CheckpointError(
                f"{tag.url}: the downloaded file's SHA-256 differs from the hub's checksum; removed it, "
                "run again to download it afresh"
            )
    return path


def _bar(show: bool):
    """huggingface_hub's bar shows on terminals only; as torch.hub's, ours shows when asked (job logs too)."""
    from tqdm.auto import tqdm

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            super().__init__(*args, **{**kwargs, "disable": not show})

    return Bar


def _from_url(tag: Tag, progress: bool) -> Path:
    import torch.hub

    url = _mirror(tag.url)  # a malformed SENET_WEIGHTS_BASE_URL is refused before the cache is looked at
    name = Path(urlsplit(tag.url).path).name
    dest = Path(torch.hub.get_dir()) / "checkpoints" / name
    prefix = _hash_prefix(tag.url)
    if dest.exists():
        if prefix and not _sha256(dest).startswith(prefix):
            raise CheckpointError(f"{dest}: SHA-256 does not start with {prefix}; delete it and run again")
        return dest
    if _offline():
        raise CheckpointError(f"offline and {name} is not cached: put it at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(url, str(dest), hash_prefix=prefix, progress=progress)
    except RuntimeError as e:  # torch.hub's hash check
        raise CheckpointError(f"{url}: {e}; nothing was kept") from None
    except OSError as e:  # URLError, HTTPError, timeouts
        reason = getattr(e, "reason", None) or e
        raise CheckpointError(
            f"cannot download {url} ({reason}); put the file at {dest}, or set SENET_WEIGHTS_BASE_URL to a mirror"
        ) from None
    return dest


def _offline() -> bool:
    """huggingface_hub's setting, read as it reads it, for every download; a value that is neither on nor
    off (``HF_HUB_OFFLINE=y``, which huggingface_hub would read as off) is refused."""
    value = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("", "0", "false", "no", "off"):
        return False
    raise SenetError(
        f"HF_HUB_OFFLINE={value!r} is neither on nor off: set it to 1 (offline) or 0, or unset it"
    )


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
