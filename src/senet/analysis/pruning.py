"""The pruning experiment of Sec. 7.2: evaluate an SE network with the SE blocks of one stage removed.

The paper finds SE_5_2/SE_5_3 near-saturated (s ~ 1) and reports that removing the last stage's SE
blocks costs < 0.1% top-5 error while cutting the relative parameter increase over ResNet-50 to ~4%
(Sec. 5, PAPER.md section 7). The parameter saving is checked against :func:`senet.complexity` of the
same model built with ``stages`` minus the dropped one.
"""

from __future__ import annotations

from torch import nn

from ..errors import SenetError
from . import _data


def se_stages(model: nn.Module) -> list[int]:
    """The paper stage numbers that hold SE blocks ([] if the model's SE blocks are not staged)."""
    return sorted({b.stage for b in _data.se_blocks(model).values() if isinstance(b.stage, int)})


def check_stage(model: nn.Module, stage: int) -> list[int]:
    stages = se_stages(model)
    if not stages:
        names = list(_data.se_blocks(model))
        raise SenetError(
            f"drop stage: this model's SE blocks ({', '.join(names[:4])}, ...) are not "
            "numbered by stage (SE_<stage>_<block>), so there is no stage to drop"
        )
    if stage not in stages:
        raise SenetError(f"drop stage {stage!r}: this model has SE blocks in stages {stages}")
    return stages


def drop_se_stage(model: nn.Module, stage: int) -> list[str]:
    """Replace, in place, every SE block of ``stage`` by ``nn.Identity``; returns the blocks removed."""
    check_stage(model, stage)
    targets = {id(b.module): n for n, b in _data.se_blocks(model).items() if b.stage == stage}
    removed = []
    for parent in list(model.modules()):
        for attr, child in list(parent.named_children()):
            if id(child) in targets:
                setattr(parent, attr, nn.Identity())
                removed.append(targets[id(child)])
    return sorted(removed)


def expected_saving(model: str, stages: list[int], stage: int, num_classes: int, **options) -> dict:
    """Params and GFLOPs of the model with and without SE in ``stage``, by :func:`senet.complexity`."""
    from ..models.counting import complexity
    from ..models.factory import model_info

    options = {k: v for k, v in options.items() if k != "stages"}
    full = complexity(model, num_classes=num_classes, stages=tuple(stages), **options)
    rest = [s for s in stages if s != stage]
    if rest:
        kept = complexity(model, num_classes=num_classes, stages=tuple(rest), **options)
    else:
        kept = complexity(model_info(model).twin, num_classes=num_classes)
    plain = complexity(model_info(model).twin, num_classes=num_classes)
    return {
        "params": full.params,
        "params_without": kept.params,
        "params_plain": plain.params,
        "params_saved": full.params - kept.params,
        "gflops_saved": round(full.gflops - kept.gflops, 6),
        "relative_increase_pct": round(100 * (full.params / plain.params - 1), 3),
        "relative_increase_without_pct": round(100 * (kept.params / plain.params - 1), 3),
    }


def stage_pruning(
    model: str,
    checkpoint,
    stage: int,
    *,
    data: str = "digits",
    device: str | None = None,
    trained_without=None,
    **options,
) -> dict:
    """Top-1/top-5 error with and without the SE blocks of ``stage``, and the parameters saved.

    The paper (Sec. 7.2) does not say which of two readings it measured: the trained network with that
    stage's SE blocks removed (always reported), or a network trained without them (``stages`` minus the
    stage: give its checkpoint as ``trained_without``, e.g. a run of ``senet train --stages 2,3,4``).
    """
    from ..models.counting import count_params
    from ..models.factory import create_model

    if not isinstance(stage, int) or isinstance(stage, bool):
        raise SenetError(f"drop stage must be an integer stage number, got {stage!r}")
    _, names = _data.eval_set(data)
    net, options = _data.load_model(model, checkpoint, names, options)
    stages = check_stage(net, stage)
    full = _data.top_errors(net, data, device)
    before = count_params(net)
    removed = drop_se_stage(net, stage)
    pruned = _data.top_errors(net, data, device)
    saved = before - count_params(net)
    expected = expected_saving(model, stages, stage, len(names), **options)
    retrained = None
    if trained_without is not None:
        kept = tuple(s for s in stages if s != stage)
        opts = {k: v for k, v in options.items() if k != "stages"}
        net2 = create_model(model, num_classes=len(names), checkpoint=trained_without, stages=kept, **opts)
        r = _data.top_errors(net2, data, device)
        retrained = {"checkpoint": str(trained_without), "stages": list(kept), "top1_error": r["top1_error"],
                     "top5_error": r["top5_error"], "params": count_params(net2)}  # fmt: skip
    return {
        "stage": stage,
        "removed_blocks": removed,
        "images": full["num_images"],
        "top1_error": full["top1_error"],
        "top5_error": full["top5_error"],
        "top1_error_without": pruned["top1_error"],
        "top5_error_without": pruned["top5_error"],
        "top1_change": round(pruned["top1_error"] - full["top1_error"], 4),
        "top5_change": round(pruned["top5_error"] - full["top5_error"], 4),
        "params_saved": saved,
        "consistent_with_complexity": saved == expected["params_saved"],
        "complexity": expected,
        "trained_without": retrained,
    }


def pruning_markdown(p: dict) -> list[str]:
    """The pruning result as markdown lines."""
    c = p["complexity"]
    return [
        f"## SE blocks of stage {p['stage']} replaced by identity (Sec. 7.2)",
        "",
        f"Removed: {', '.join(p['removed_blocks'])} ({p['images']} validation images).",
        "",
        "| | top-1 error % | top-5 error % | params | relative increase over plain twin |",
        "|---|---|---|---|---|",
        f"| all SE blocks | {p['top1_error']:.2f} | {p['top5_error']:.2f} | {c['params']:,} | "
        f"{c['relative_increase_pct']:.2f}% |",
        f"| without stage {p['stage']} | {p['top1_error_without']:.2f} | {p['top5_error_without']:.2f} | "
        f"{c['params_without']:,} | {c['relative_increase_without_pct']:.2f}% |",
        f"| change | {p['top1_change']:+.2f} | {p['top5_change']:+.2f} | -{p['params_saved']:,} | |",
        "",
        f"Parameters saved agree with `senet.complexity` (stages without {p['stage']}): "
        f"{'yes' if p['consistent_with_complexity'] else 'NO'} ({c['params_saved']:,} expected). "
        "Paper, SE-ResNet-50 without stage 5: < 0.1% top-5 error, relative increase ~4%.",
        "",
        "The paper does not say whether it removed the blocks from the trained network (the rows above) or "
        "trained a network without them"
        + (
            f": trained without them ({p['trained_without']['checkpoint']}): top-1 "
            f"{p['trained_without']['top1_error']:.2f}%, top-5 {p['trained_without']['top5_error']:.2f}%, "
            f"{p['trained_without']['params']:,} params."
            if p.get("trained_without")
            else f"; for that reading train with `--stages` without {p['stage']} and pass its checkpoint as "
            "`--trained-without`."
        ),
    ]
