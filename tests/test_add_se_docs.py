"""docs/models.md's add_se tables are generated from ``add_se`` on the tested torchvision networks (meta
device: shapes only). ``SENET_REGEN_DOCS=1 pytest tests/test_add_se_docs.py`` rewrites them."""

from __future__ import annotations

import itertools
import warnings

import torch
import torchvision

from senet import SenetError, add_se
from senet.retrofit.points import se_points

NETWORKS = ("resnet50", "resnext50_32x4d", "wide_resnet50_2", "vgg16_bn", "mobilenet_v2",
            "mobilenet_v3_small", "efficientnet_b0", "densenet121", "regnet_x_400mf", "convnext_tiny",
            "googlenet", "inception_v3")  # fmt: skip


def _build(name: str):
    extra = {"aux_logits": False, "init_weights": True} if name in ("googlenet", "inception_v3") else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with torch.device("meta"):
                return torchvision.models.get_model(name, weights=None, **extra)
        except NotImplementedError:  # RegNet computes its widths with tensors: build it for real
            return torchvision.models.get_model(name, weights=None, **extra)


def _table(name: str) -> str:
    model = _build(name)
    before = sum(p.numel() for p in model.parameters())
    try:
        add_se(model)
    except SenetError as e:
        return f"**{name}**: refused, `{e}`"
    points = se_points(model)
    added = sum(p.numel() for p in model.parameters()) - before
    assert added == sum(p.params for p in points)
    skipped = getattr(model, "se_skipped", ())
    lines = [
        f"**{name}**: {len(points)} SE blocks, +{added:,} parameters ({before:,} -> {before + added:,})"
        + (f"; {len(skipped)} places skipped, their blocks already have SE" if skipped else ""),
        "",
        "| blocks | module paths | kind | stage | C | C/r |",
        "|---|---|---|---|---|---|",
    ]
    key = lambda p: (p.kind, p.stage, p.channels, p.hidden)  # noqa: E731
    for (kind, stage, c, h), group in itertools.groupby(points, key):
        group = list(group)
        paths = f"`{group[0].path}`" + (f" .. `{group[-1].path}`" if len(group) > 1 else "")
        lines.append(f"| {len(group)} | {paths} | {kind} | {stage} | {c} | {h} |")
    return "\n".join(lines)


def test_the_models_page_shows_where_add_se_puts_blocks():
    from docblock import check_block

    check_block("docs/models.md", "add-se-tables", "\n\n".join(_table(n) for n in NETWORKS))
