"""Evaluation as the paper reports it: top-1 and top-5 **error** in %, single centre crop (PAPER.md sec. 8).

``evaluate`` is what ``senet eval`` calls; ``evaluate_loader`` is the loop the training engine shares,
so the numbers a run logs and the numbers ``senet eval`` prints come from the same code.
"""

from __future__ import annotations

import contextlib
import os
import time

import torch
import torch.nn.functional as F
from torch import nn

from .. import data as D
from ..core.distributed import all_reduce_sum
from ..core.runtime import autocast, check_amp, resolve_device
from ..errors import SenetError, SenetTypeError
from ..runtimes.deployed import describe


def evaluate_loader(
    model: nn.Module,
    loader,
    device: torch.device,
    num_classes: int,
    autocast=contextlib.nullcontext,
    memory_format=torch.contiguous_format,
) -> dict:
    """Loss, top-1/top-5 error (%), per-class accuracy and images/s over a loader (summed over ranks)."""
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss, top-1 hits, top-5 hits, skipped
    per_class = torch.zeros(2, num_classes, dtype=torch.float64, device=device)  # hits, counts
    k = min(5, num_classes)
    start = time.perf_counter()
    with torch.no_grad(), D.batches(loader) as batches:  # its workers end on every way out
        for images, targets, skipped in batches:
            if len(targets) == 0:  # every image of this batch was unreadable: counted, not evaluated
                sums[3] += skipped
                continue
            images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
            crops = images.shape[1] if images.ndim == 5 else 1  # ten-crop: average the crops' logits
            x = images.flatten(0, 1) if images.ndim == 5 else images
            with autocast():
                logits = model(x.contiguous(memory_format=memory_format)).float()
            logits = logits.view(len(targets), crops, -1).mean(1)
            # top-1 is argmax: the first of equal logits whatever the batch size (topk does not say which
            # it takes; int8 logits can tie exactly); top-5: the k largest, or the top-1
            top1 = logits.argmax(1) == targets
            top5 = (logits.topk(k, dim=1).indices == targets[:, None]).any(1) | top1
            sums += torch.stack(
                [
                    F.cross_entropy(logits, targets, reduction="sum"),
                    top1.sum(),
                    top5.sum(),
                    torch.tensor(float(skipped), device=device),
                ]
            )
            per_class[0].index_add_(0, targets, top1.double())
            per_class[1].index_add_(0, targets, torch.ones_like(targets, dtype=torch.float64))
    all_reduce_sum(sums), all_reduce_sum(per_class)
    seconds = time.perf_counter() - start
    n = per_class[1].sum().item()
    if n == 0:
        raise SenetError("the evaluation set yielded no readable images")
    loss, top1, top5, skipped = sums.tolist()
    return {
        "loss": loss / n,
        "top1_error": 100 * (1 - top1 / n),
        "top5_error": 100 * (1 - top5 / n),
        "num_images": int(n),
        "skipped": int(skipped),
        "images_per_s": n / max(seconds, 1e-9),
        "per_class_accuracy": (100 * per_class[0] / per_class[1].clamp(min=1)).tolist(),
    }


def evaluate(
    model: str | nn.Module | None = None,
    *,
    checkpoint=None,
    data: str = "digits",
    resize: int | None = None,
    crop: int | None = None,
    ten_crop: bool = False,
    batch_size: int = 256,
    device: str | None = None,
    workers: int = 2,
    strict: bool = False,
    model_options: dict | None = None,
    amp: str | None = None,
    scales: tuple[int, ...] | None = None,
    crops: int | None = None,
    flip: bool = False,
    fully_convolutional: bool = False,
    progress: bool = False,
    pretrained=None,
    runtime: str | None = None,
) -> dict:
    """Evaluate ``model`` (a registered name or a module) on the validation split of ``data``.

    ``resize``/``crop`` default to the model's own protocol on ImageNet-style folders (Sec. 5.1: resize
    the short side to 256 and centre-crop 224; Inception-ResNet-v2: 352 and 299) and to the native 32x32
    for CIFAR, digits and synthetic data. A checkpoint's card supplies the model name and its options.

    ``scales``, ``crops`` (1, 3, 5, 10), ``flip`` and ``fully_convolutional`` select the multi-scale,
    multi-crop protocol of ILSVRC 2017 (:mod:`senet.evaluation.multiview`): softmax probabilities averaged over every
    view; the result adds ``per_scale`` (each scale's single-view and multi-view errors) and ``views``.

    ``pretrained`` (True or a tag, ``senet list --pretrained``) evaluates those weights with their own
    preprocessing (crop fraction, interpolation) unless ``resize``/``crop`` say otherwise.

    ``checkpoint`` may be a deployed file (``.onnx``, OpenVINO ``.xml``, ``.pt2``, as ``senet export`` and
    ``senet quantize`` write them): it runs in its runtime on the CPU with the preprocessing and classes its
    card records. ``runtime``: "torch", "ort", "openvino" or "auto" (the fastest installed, measured once
    and cached; :mod:`senet.runtimes.deployed`); default torch, or the deployed file's own.
    """
    if pretrained is not None and pretrained is not False:
        if not isinstance(model, str) or checkpoint is not None:
            raise SenetError("pretrained goes with a model name (--model) and no checkpoint")
    for name, value, low in (("batch_size", batch_size, 1), ("workers", workers, 0)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise SenetError(f"{name} must be an integer >= {low}, got {value!r}")
    for name, value in (("resize", resize), ("crop", crop)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise SenetError(f"{name} must be a positive integer, got {value!r}")
    from ..runtimes.deployed import check_runtime, is_deployed

    check_runtime(runtime)
    deployed = is_deployed(checkpoint)
    if deployed or runtime not in (None, "torch"):
        device = _cpu_only(device, amp, model_options, deployed, runtime)
    dev = resolve_device(device)
    check_amp(amp)
    kind, _ = D.parse(data)
    if model_options is not None and not isinstance(model_options, dict):
        raise SenetTypeError(f"model_options must be a dict, got {type(model_options).__name__}")
    if checkpoint is not None and not isinstance(checkpoint, str | os.PathLike):
        raise SenetTypeError(f"checkpoint must be a path, got {type(checkpoint).__name__}")
    if deployed:
        from ..runtimes.deployed import load_deployed

        model = _check_name(model, load_deployed(checkpoint, runtime, batch=min(batch_size, 16)))
        options, card = {}, model.card
    else:
        model, options, card = _resolve(model, checkpoint, model_options or {})
    if scales is not None and resize is not None:
        raise SenetError("--resize is the single scale; with --scales every short side is in --scales")
    if kind == "imagefolder":
        size, crop_pct, interpolation = _input_view(model, pretrained, card)
        crop = crop or size
        resize = resize or round(crop / crop_pct)
    else:
        interpolation = "bilinear"
    for name, value in (("flip", flip), ("fully_convolutional", fully_convolutional), ("ten_crop", ten_crop)):
        if not isinstance(value, bool):
            raise SenetTypeError(f"{name} must be True or False, got {value!r}")
    if fully_convolutional and crop is not None and kind != "imagefolder":
        raise SenetError("--fully-convolutional shows the whole image: it takes no --crop")
    plan = _plan(resize, crop, ten_crop, scales, crops, flip, fully_convolutional)
    if plan is None and crop is not None and crop > (resize or 32 if kind != "imagefolder" else resize):
        raise SenetError(
            f"crop {crop} is larger than the images it is cut from ({resize or 32} px): the crop would be "
            "padded with zeros; give --crop at most the short side (--resize)"
        )
    views = D.Views(
        eval_resize=resize,
        eval_crop=crop,
        ten_crop=ten_crop,
        train_size=crop or 32,
        multiview=plan,
        interpolation=interpolation,
    )
    _, val, classes, _ = D.build(data, views, strict)
    from ..hub.weights import check_classes

    check_classes(card, classes, repr(str(checkpoint)))
    net = model if deployed else _model(model, checkpoint, len(classes), options, pretrained)
    if getattr(net, "reinitialized", None):
        raise SenetError(
            f"the weights {pretrained if isinstance(pretrained, str) else 'asked for'} have another number of "
            f"classes than the data's {len(classes)}: their classifier would be random; fine-tune first "
            "(senet train --init pretrained:TAG) or evaluate on the data they were trained on"
        )
    net = net.to(dev)
    if not deployed and runtime not in (None, "torch"):
        if plan is not None and plan.fully_convolutional:
            raise SenetError(f"--runtime {runtime} runs images of one size: drop --fully-convolutional")
        from ..runtimes.deployed import to_runtime

        side = crop or 32
        net = to_runtime(net.eval(), runtime, side, batch=min(batch_size, 16), source=checkpoint)
    if plan is not None:
        result = _evaluate_views(
            net, val, plan, dev, batch_size, workers, lambda: autocast(dev.type, amp), progress
        )
    else:
        loader = D.loader(val, batch_size, workers=workers, pin=dev.type == "cuda")
        result = evaluate_loader(net, loader, dev, len(classes), lambda: autocast(dev.type, amp))
    name = getattr(net, "model_name", type(net).__name__)
    return {
        "model": name,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "data": data,
        "resize": None if plan else resize,
        "crop": None if plan and plan.fully_convolutional else crop,
        "ten_crop": ten_crop,
        "runtime": getattr(net, "runtime", None) or "torch",
        "runtime_note": describe(net),
        **result,
        "classes": classes,
    }


def _cpu_only(device, amp, model_options, deployed: bool, runtime) -> str:
    """A deployed file, or another runtime than torch, runs on the CPU in its own precision."""
    what = "a deployed file" if deployed else f"--runtime {runtime}"
    if device is not None and resolve_device(device).type != "cpu":
        raise SenetError(f"{what} runs on the CPU: drop --device {device}")
    if amp is not None:
        raise SenetError(f"{what} runs in its own precision: drop --amp (autocast is PyTorch's)")
    if deployed and model_options:
        raise SenetError(
            "model options rebuild a network; a deployed file is built already: drop them (its card records them)"
        )
    return "cpu"


def _check_name(model, net):
    """The deployed net, when ``model`` (if given) is the one its card names."""
    if model is not None and not isinstance(model, str):
        raise SenetError(
            "a deployed file (--checkpoint .onnx/.xml/.pt2) is the model: pass no module with it"
        )
    recorded = net.card.get("model")
    if model and recorded and model != recorded:
        raise SenetError(
            f"{net.source} holds {recorded}, not {model}: drop --model or give {recorded}'s file"
        )
    return net


def _plan(resize, crop, ten_crop, scales, crops, flip, fully_convolutional):
    """The multi-view plan the options ask for, or None for the single-view (or ten-crop) evaluation."""
    if scales is None and crops is None and not flip and not fully_convolutional:
        return None
    if ten_crop:
        raise SenetError(
            "--ten-crop is the single-scale ten-crop evaluation; with --scales/--crops/--flip use --crops 10"
        )
    if isinstance(scales, int) and not isinstance(scales, bool):
        scales = (scales,)
    if scales is not None:
        if isinstance(scales, list | tuple) and not scales:
            raise SenetError("--scales must list at least one short side, e.g. 256,288,320,352")
        if not isinstance(scales, list | tuple):
            raise SenetTypeError(f"scales must be a tuple of integers, got {type(scales).__name__}")
        scales = tuple(scales)
    return D.ViewPlan(
        scales=scales or (resize or (crop or 32),),
        crop=None if fully_convolutional else (crop or 32),
        crops=1 if crops is None else crops,
        flip=bool(flip),
        fully_convolutional=bool(fully_convolutional),
    )


def _evaluate_views(net, val, plan, dev, batch_size, workers, autocast_fn, progress) -> dict:
    """Every view of every image (:mod:`senet.evaluation.multiview`), fused; one image's views share a batch."""
    from ..data.views import collate
    from .multiview import view_errors, view_probabilities

    per_batch = 1 if plan.fully_convolutional else max(1, batch_size // len(plan))
    loader = D.loader(val, per_batch, workers=workers, pin=dev.type == "cuda", collate_fn=collate)
    probs, targets, skipped, seconds = view_probabilities(net, loader, dev, batch_size, autocast_fn, progress)
    return {
        **view_errors(probs, targets, plan),
        "num_images": len(targets),
        "skipped": skipped,
        "images_per_s": len(targets) / max(seconds, 1e-9),
        "views": {
            "scales": list(plan.scales),
            "crop": plan.crop,
            "crops": plan.crops,
            "flip": plan.flip,
            "fully_convolutional": plan.fully_convolutional,
            "per_image": len(plan),
        },
    }


def _resolve(model, checkpoint, options: dict) -> tuple[str | nn.Module, dict, dict | None]:
    """The model to evaluate and its options: as given, with what the checkpoint's card records filling in
    the name and the options not given (an option given otherwise is refused when the weights load)."""
    if isinstance(model, nn.Module) or not checkpoint:
        return model, options, None
    from ..hub.weights import read_weights

    card = read_weights(checkpoint)[1] or {}
    model = model or card.get("model")
    if not model:
        raise SenetError("no model given: pass --model NAME (or a checkpoint whose card records it)")
    if model == card.get("model"):
        saved = {k: tuple(v) if isinstance(v, list) else v for k, v in (card.get("options") or {}).items()}
        options = {**saved, **options}
    return model, options, card


def _input_view(model, pretrained=None, card=None) -> tuple[int, float, str]:
    """The evaluation size, crop fraction and interpolation the weights expect: a pretrained tag's, a
    checkpoint card's, else the model's own (Sec. 5.1: 224 of 256; 299 of 352), bilinear."""
    pre = (card or {}).get("preprocess") or {}
    if isinstance(model, str):
        from ..models.factory import model_info

        info = model_info(model, pretrained if pretrained is not False else None)
        cfg = {"input_size": info.input_size, "crop_pct": info.crop_pct, "interpolation": info.interpolation}
    else:
        cfg = getattr(model, "default_cfg", {}) if model is not None else {}
    cfg = {**cfg, **pre}
    size = cfg.get("input_size", (3, 224, 224))[-1]
    return size, cfg.get("crop_pct", 0.875), cfg.get("interpolation", "bilinear")


def _model(model, checkpoint, num_classes: int, options: dict, pretrained=None) -> nn.Module:
    """A module as given (weights loaded if asked), or built by name with the checkpoint."""
    from ..hub.weights import load_weights
    from ..models.factory import create_model

    if isinstance(model, nn.Module):
        return load_weights(model, checkpoint) if checkpoint else model
    if not model:
        raise SenetError("no model given: pass --model NAME (or a checkpoint whose card records it)")
    if pretrained is not None and pretrained is not False:
        return create_model(model, num_classes=num_classes, pretrained=pretrained, **options)
    return create_model(model, num_classes=num_classes, checkpoint=checkpoint, **options)
