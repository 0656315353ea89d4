"""Classify image files: the top-k classes of each image, with softmax probabilities.

``predict`` is what ``senet predict`` calls. The model is a registered name (random weights, a checkpoint,
or pretrained weights by tag), a senet checkpoint alone (its card names the model, its options and its
classes), or a module. Images are shown to it as its weights expect (:func:`senet.evaluation.preprocess.transforms`)
and read as the image-folder loader reads them (:func:`senet.data.read_image`: decompression bombs
refused, 16-bit images scaled); an unreadable file is reported in its own entry and the others predicted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import SenetError, SenetTypeError

BATCH = 16  # images per forward pass


@dataclass
class Predictor:
    """A model ready to classify image files: the network in eval mode, its preprocessing, its classes."""

    net: nn.Module
    name: str
    transform: object
    device: torch.device
    card_classes: list[str] | None = None  # the class names a senet checkpoint records
    random_init: bool = False  # built by name with neither a checkpoint nor pretrained weights
    amp: str | None = None  # "bf16" | "fp16": autocast (on the CPU, oneDNN's bf16 kernels)
    _names: dict = field(default_factory=dict, repr=False)

    def classes(self, num_classes: int) -> list[str]:
        """The names of the model's ``num_classes`` outputs: the checkpoint's (as many as the outputs, or
        refused), ImageNet's for 1000 classes (torchvision's list, shipped offline), else the indices."""
        if num_classes not in self._names:
            if self.card_classes is not None and len(self.card_classes) != num_classes:
                raise SenetError(
                    f"the checkpoint names {len(self.card_classes)} classes, the model has {num_classes} "
                    "outputs: load the checkpoint into the model it was saved from"
                )
            if self.card_classes is not None:
                names = [str(c) for c in self.card_classes]
            elif num_classes == 1000:
                from torchvision.models._meta import _IMAGENET_CATEGORIES

                names = list(_IMAGENET_CATEGORIES)
            else:
                names = [str(i) for i in range(num_classes)]
            self._names[num_classes] = names
        return self._names[num_classes]

    def __call__(self, images, top_k: int = 5) -> list[dict]:
        """One dict per image, in order: ``{"image", "top": [{"class", "index", "probability"}, ...]}``,
        or ``{"image", "error"}`` (one line) for a file that cannot be read or shown to the model."""
        from ..core.runtime import autocast
        from ..data import UnreadableImage, read_image

        paths, k = image_paths(images), check_top_k(top_k)
        results: list[dict | None] = [None] * len(paths)
        self.net.eval()
        for start in range(0, len(paths), BATCH):
            good, tensors = [], []
            for i in range(start, min(start + BATCH, len(paths))):
                path = paths[i]
                try:
                    tensors.append(self.transform(read_image(path)))
                    good.append(i)
                except UnreadableImage as e:
                    results[i] = {"image": path, "error": _one_line(str(e), path)}
                except (ValueError, RuntimeError, TypeError) as e:  # read, but the transform refused it
                    results[i] = {"image": path, "error": _one_line(f"cannot be shown to the model: {e}")}
            if not good:
                continue
            with torch.inference_mode(), autocast(self.device.type, self.amp):
                logits = self.net(torch.stack(tensors).to(self.device)).float()
            probs = logits.softmax(dim=1).cpu()
            names = self.classes(probs.shape[1])
            top = probs.topk(min(k, probs.shape[1]), dim=1)
            for row, i in enumerate(good):
                results[i] = {
                    "image": paths[i],
                    "top": [
                        {"class": names[j], "index": j, "probability": p}
                        for p, j in zip(top.values[row].tolist(), top.indices[row].tolist())
                    ],
                }
        return results


def predict(
    model: str | nn.Module | None = None,
    images=(),
    *,
    checkpoint=None,
    pretrained=None,
    top_k: int = 5,
    device: str | None = None,
    model_options: dict | None = None,
    amp: str | None = None,
    runtime: str | None = None,
) -> list[dict]:
    """The ``top_k`` classes of each image file with their softmax probabilities.

    ``model``: a registered name, a module, or None with a senet ``checkpoint`` (its card names the model
    and its options). ``pretrained``: True for the model's default tag, or a tag (``senet list
    --pretrained``). Class names come from the checkpoint's card, else ImageNet's for a 1000-class model,
    else the indices. Returns, per image in order, ``{"image": path, "top": [{"class": name, "index": i,
    "probability": p}, ...]}`` (``top_k`` capped at the number of classes), or ``{"image": path,
    "error": "..."}`` for a file that cannot be read; the other images are still predicted. ``amp``:
    "bf16" (or "fp16") runs the network under autocast; probabilities are computed in float32.
    ``checkpoint`` may be a deployed file and ``runtime`` another CPU runtime (:func:`predictor`).
    """
    paths, k = image_paths(images), check_top_k(top_k)  # refused before a model is built
    p = predictor(
        model,
        checkpoint=checkpoint,
        pretrained=pretrained,
        device=device,
        model_options=model_options,
        amp=amp,
        runtime=runtime,
        batch=min(len(paths), BATCH),
    )
    return p(paths, k)


def predictor(
    model: str | nn.Module | None = None,
    *,
    checkpoint=None,
    pretrained=None,
    device: str | None = None,
    model_options: dict | None = None,
    amp: str | None = None,
    runtime: str | None = None,
    batch: int = 1,
) -> Predictor:
    """The model of :func:`predict`, built (or loaded) once: call it with image paths and ``top_k``.

    ``checkpoint`` may be a deployed file (``.onnx``, OpenVINO ``.xml``, ``.pt2``): it runs in its runtime
    with the preprocessing and classes its card records. ``runtime``: "torch", "ort", "openvino" or "auto"
    (the fastest installed one, measured at ``batch`` images and cached; default torch, or the file's own)."""
    from ..core.runtime import check_amp, resolve_device
    from ..hub.weights import load_weights, read_weights
    from ..models.factory import create_model
    from ..runtimes.deployed import check_runtime, is_deployed, load_deployed, to_runtime
    from .evaluator import _check_name, _cpu_only, _resolve
    from .preprocess import transforms

    check_runtime(runtime)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise SenetError(f"batch must be a positive integer, got {batch!r}")
    if model_options is not None and not isinstance(model_options, dict):
        raise SenetTypeError(f"model_options must be a dict, got {type(model_options).__name__}")
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise SenetTypeError(f"checkpoint must be a path, got {type(checkpoint).__name__}")
    weights = pretrained is not None and pretrained is not False
    if weights and checkpoint is not None:
        raise SenetError("pass pretrained or checkpoint, not both")
    deployed = is_deployed(checkpoint)
    if deployed or runtime not in (None, "torch"):
        device = _cpu_only(device, amp, model_options, deployed, runtime)
    dev = resolve_device(device)
    check_amp(amp)
    if deployed:
        net = _check_name(model, load_deployed(checkpoint, runtime, batch=batch))
        if any(k not in net.default_cfg for k in ("input_size", "mean", "std")):
            raise SenetError(
                f"{str(checkpoint)!r} records no preprocessing (no senet card): export it with senet export "
                "or senet quantize, which write it"
            )
        classes = net.card.get("classes")
        return Predictor(
            net,
            net.model_name,
            transforms(net),
            dev,
            card_classes=list(classes) if isinstance(classes, list | tuple) else None,
        )
    if isinstance(model, nn.Module):
        if weights:
            raise SenetError("pretrained weights are built by name: pass the model's registered name")
        if model_options:
            raise SenetError("model_options apply to a model built by name; this module is built already")
        card = None
        if checkpoint is not None:
            load_weights(model, checkpoint)
            card = read_weights(checkpoint)[1]
        net, random_init = model, False
    else:
        if model is not None and not isinstance(model, str):
            raise SenetTypeError(
                f"model must be a registered name or a torch.nn.Module, got {type(model).__name__}"
            )
        name, options, card = _resolve(model, checkpoint, dict(model_options or {}))
        if not name:
            raise SenetError(
                "no model given: pass a registered name (--model NAME; `senet list`), or a senet "
                "checkpoint whose card records it"
            )
        net = create_model(
            name,
            num_classes=_num_classes(card),
            checkpoint=checkpoint,
            pretrained=pretrained if weights else None,
            **options,
        )
        random_init = checkpoint is None and not weights
    transform = transforms(net)  # the weights' preprocessing (a module without default_cfg is refused)
    net = net.to(dev).eval()
    if runtime not in (None, "torch"):
        side = net.default_cfg["input_size"][-1]
        net = to_runtime(net, runtime, side, batch=batch, source=checkpoint)
    classes = (card or {}).get("classes")
    return Predictor(
        net,
        getattr(net, "model_name", type(net).__name__),
        transform,
        dev,
        card_classes=list(classes) if isinstance(classes, list | tuple) else None,
        random_init=random_init,
        amp=amp,
    )


def image_paths(images) -> list[str]:
    """Image paths as strings: one path, or a list of them; an empty list is refused."""
    if isinstance(images, str | os.PathLike):
        images = [images]
    if isinstance(images, bytes) or not hasattr(images, "__iter__"):
        raise SenetTypeError(f"images must be a list of file paths, got {type(images).__name__}")
    images = list(images)
    bad = [type(p).__name__ for p in images if not isinstance(p, str | os.PathLike)]
    if bad:
        raise SenetTypeError(f"images must be file paths (str or os.PathLike), got a {bad[0]}")
    if not images:
        raise SenetError("no images given: pass one or more image files (jpg, png, ...)")
    return [os.fspath(p) for p in images]


def check_top_k(top_k) -> int:
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise SenetError(f"top_k must be a positive integer, got {top_k!r}")
    return top_k


def _num_classes(card: dict | None) -> int | None:
    """The class count a checkpoint's card records (None: the model's default)."""
    card = card or {}
    n = card.get("num_classes")
    if isinstance(n, int) and not isinstance(n, bool) and n > 0:
        return n
    classes = card.get("classes")
    return len(classes) if isinstance(classes, list | tuple) and classes else None


def _one_line(message: str, path: str | None = None) -> str:
    """``read_image``'s message without the path it starts with, on one line."""
    if path is not None and message.startswith(f"{path}: "):
        message = message[len(path) + 2 :]
    return " ".join(message.split())
