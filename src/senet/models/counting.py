"""Parameters and multiply-adds as the paper counts them (PAPER.md sections 4, 5 and 7).

"GFLOPs" in the paper are multiply-adds (MACs) of one image. We count the MACs of every convolution
(``Cout x H' x W' x Cin/groups x kh x kw``) and linear layer (``in x out``), including the SE block's two
FCs, plus **one operation per element of U for the SE block's squeeze and scale together** (Eq. 2, 4).
The evidence is the paper's own SE-minus-plain deltas (Tables 2, 3; ``senet.models.paper.PRINTED_DELTAS``): one
operation per element gives ResNet-152 +0.020, ResNeXt-101 +0.014, VGG-16 +0.014 GFLOPs, MobileNet +3.2M,
ShuffleNet +2.2M against the printed +0.02, +0.01, +0.01, +3M, +2M; two per element would give +0.033,
+0.023, +0.027, +5.9M, +3.8M, and none at all leaves SE-ShuffleNet at 138 MFLOPs against its printed 142.
Other element-wise work (BN, ReLU, the network's own pooling, residual additions) is not counted, as in
the paper's plain rows. Models are built on the meta device: counting SENet-154 costs no memory.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..errors import SenetError, SenetTypeError
from ..layers.se import SqueezeExcitation
from .factory import create_model, model_info


@dataclass(frozen=True)
class Complexity:
    model: str
    params: int
    macs: int
    input_size: int

    @property
    def gflops(self) -> float:
        return self.macs / 1e9

    def as_dict(self) -> dict:
        return {**asdict(self), "gflops": round(self.gflops, 4)}


def count_macs(model: nn.Module, input_size: int | tuple[int, int], in_chans: int | None = None) -> int:
    """Multiply-adds of one forward pass of a single image (batch 1) through ``model``."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    total = 0

    def conv_hook(m: nn.Conv2d, inp, out):
        nonlocal total
        kh, kw = m.kernel_size
        total += out[0].numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, inp, out):
        nonlocal total
        total += out[0].numel() * m.in_features

    def se_hook(m: SqueezeExcitation, inp, out):  # squeeze and scale together: one op per element of U
        nonlocal total
        total += inp[0][0].numel()

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, SqueezeExcitation):
            handles.append(m.register_forward_hook(se_hook))
    param = next(model.parameters())
    chans = in_chans or getattr(model, "in_chans", 3)
    x = torch.zeros(1, chans, h, w, device=param.device, dtype=param.dtype)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h_ in handles:
            h_.remove()
    return total


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def complexity(
    model_or_name: nn.Module | str, input_size: int | None = None, num_classes: int | None = None, **options
) -> Complexity:
    """Params and MACs of a model (an ``nn.Module`` or a registered name built on the meta device).

    ``input_size`` defaults to the model's native resolution (224 ImageNet, 32 CIFAR, 299 for
    Inception-ResNet-v2). ``options`` are passed to :func:`senet.create_model` (e.g. ``reduction=2``).
    """
    if input_size is not None and (
        not isinstance(input_size, int) or isinstance(input_size, bool) or input_size < 8
    ):
        raise SenetError(f"input size must be an integer of at least 8 pixels, got {input_size!r}")
    if isinstance(model_or_name, str):
        info = model_info(model_or_name)
        frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in options.items()))
        size = info.input_size[-1] if input_size is None else input_size
        return _registered(model_or_name, size, num_classes, frozen)
    if not isinstance(model_or_name, nn.Module):
        raise SenetTypeError(
            f"complexity needs a model name or a torch.nn.Module, got {type(model_or_name).__name__}"
        )
    model = model_or_name
    name = getattr(model, "model_name", type(model).__name__)
    if input_size is None:
        input_size = getattr(model, "default_cfg", {}).get("input_size", (3, 224, 224))[-1]
    if not isinstance(input_size, int) or input_size < 8:
        raise SenetError(f"input size must be an integer of at least 8 pixels, got {input_size!r}")
    return Complexity(name, count_params(model), count_macs(model, input_size), input_size)


@functools.lru_cache(maxsize=512)
def _registered(name: str, input_size, num_classes, options: tuple) -> Complexity:
    """A registered model's counts (deterministic: computed once per name, size and options)."""
    with torch.device("meta"):
        model = create_model(name, num_classes=num_classes, **dict(options))
    return complexity(model, input_size)


def paper_comparison(rows=None) -> list[dict]:
    """Our params and GFLOPs beside the paper's for every row of :data:`senet.models.paper.ROWS`, compared at the
    precision each number is given with; the source says whether it is printed in the paper or the
    released model's exact count."""
    from .paper import ROWS

    out = []
    for row in rows if rows is not None else ROWS:
        c = complexity(row.model, row.input_size, **row.options)
        d = {"source": row.source, "label": row.label, "model": row.model, "options": row.options}
        d.update(input_size=c.input_size, params=c.params, gflops=round(c.gflops, 4))
        for key, ours, given in (("params", c.params, row.params), ("gflops", c.gflops, row.gflops)):
            d[f"paper_{key}"] = given.text if given else None
            d[f"{key}_given_as"] = given.kind if given else None
            d[f"{key}_match"] = given.matches(ours) if given else None
        d["gflops_diff_pct"] = (
            None if row.gflops is None else round(100 * (c.gflops / row.gflops.value - 1), 2)
        )
        d["note"] = row.note
        out.append(d)
    return out


def se_deltas() -> list[dict]:
    """SE-minus-plain GFLOPs, ours against the paper's printed deltas (the counting convention's evidence)."""
    from .paper import PRINTED_DELTAS, Given

    out = []
    for (plain, se), text in PRINTED_DELTAS.items():
        ours = complexity(se).gflops - complexity(plain).gflops
        out.append(
            {
                "plain": plain,
                "se": se,
                "delta_gflops": round(ours, 4),
                "paper": text,
                "match": Given(text).matches(ours),
            }
        )
    return out
