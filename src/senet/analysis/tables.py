"""The paper's ablation tables as data (Sec. 6, Tables 10-16; numbers from PAPER.md section 7).

Each table is a list of variants: a label, the SE knobs it sets, whether it is the plain twin, and the
paper's result on ImageNet with SE-ResNet-50 (top-1 %, top-5 %, params in M, GFLOPs), shown beside ours
only when the study's model is ``se_resnet50``. The TPAMI ablations use SE blocks without biases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import SenetError

PAPER_MODEL = "se_resnet50"
PAPER_STAGES = (2, 3, 4, 5)


@dataclass(frozen=True)
class Variant:
    label: str
    options: dict = field(default_factory=dict)  # SE knobs (create_model options) beyond the study's base
    plain: bool = False  # the network without SE blocks (the model's twin)
    paper: tuple | None = None  # (top-1 %, top-5 %, params M or None, GFLOPs or None), SE-ResNet-50


SE = (22.28, 6.03, 28.1, 3.87)  # SE-ResNet-50, r = 16, avg squeeze, sigmoid, standard, all stages
PLAIN = (23.30, 6.55, 25.6, 3.86)  # ResNet-50

TITLES = {
    10: "Table 10: reduction ratio r",
    11: "Table 11: squeeze operator",
    12: "Table 12: excitation operator",
    13: "Table 13: SE blocks in one stage only",
    14: "Table 14: SE block integration (placement)",
    15: "Table 15: SE on the 3x3 convolution",
    16: "Table 16: the squeeze (global pooling) removed",
}

_FIXED: dict[int, list[Variant]] = {
    10: [
        Variant("r=2", {"reduction": 2}, paper=(22.29, 6.00, 45.7, None)),
        Variant("r=4", {"reduction": 4}, paper=(22.25, 6.09, 35.7, None)),
        Variant("r=8", {"reduction": 8}, paper=(22.26, 5.99, 30.7, None)),
        Variant("r=16", {"reduction": 16}, paper=SE),
        Variant("r=32", {"reduction": 32}, paper=(22.72, 6.20, 26.9, None)),
        Variant("plain", plain=True, paper=PLAIN),
    ],
    11: [
        Variant("max", {"squeeze": "max"}, paper=(22.57, 6.09, None, None)),
        Variant("avg", {"squeeze": "avg"}, paper=SE),
    ],
    12: [
        Variant("ReLU", {"excitation": "relu"}, paper=(23.47, 6.98, None, None)),
        Variant("tanh", {"excitation": "tanh"}, paper=(23.00, 6.38, None, None)),
        Variant("sigmoid", {"excitation": "sigmoid"}, paper=SE),
    ],
    14: [
        Variant("SE", {"placement": "standard"}, paper=SE),
        Variant("SE-PRE", {"placement": "pre"}, paper=(22.23, 6.00, None, None)),
        Variant("SE-POST", {"placement": "post"}, paper=(22.78, 6.35, None, None)),
        Variant("SE-Identity", {"placement": "identity"}, paper=(22.20, 6.15, None, None)),
    ],
    15: [
        Variant("SE", {"placement": "standard"}, paper=SE),
        Variant("SE_3x3", {"placement": "3x3"}, paper=(22.48, 6.02, 25.8, 3.86)),
    ],
    16: [
        Variant("plain", plain=True, paper=PLAIN),
        Variant("NoSqueeze", {"squeeze": "none"}, paper=(22.93, 6.39, 28.1, 4.27)),
        Variant("SE", {"squeeze": "avg"}, paper=SE),
    ],
}
_STAGE_PAPER = {2: (23.03, 6.48, 25.6, None), 3: (23.04, 6.32, 25.7, None), 4: (22.68, 6.22, 26.4, None)}
NUMBERS = (10, 11, 12, 13, 14, 15, 16)


def parse_tables(spec) -> list[int]:
    """``13``, ``"13"``, ``"10,13"`` or ``"all"`` -> table numbers; anything else names what exists."""
    if spec == "all":
        return list(NUMBERS)
    items = [spec] if isinstance(spec, int) else str(spec).split(",")
    try:
        numbers = [int(s) for s in items]
    except ValueError:
        numbers = []
    if not numbers or any(n not in NUMBERS for n in numbers):
        raise SenetError(
            f"table {spec!r} does not exist; choose one of {', '.join(map(str, NUMBERS))} or all"
        )
    return list(dict.fromkeys(numbers))


def variants(table: int, model_stages: tuple[int, ...]) -> tuple[list[Variant], str]:
    """The variants of ``table`` for a model whose SE stages are ``model_stages``, and a note.

    Table 13 of the paper puts SE in stage 2, 3 or 4 only (all but the last of SE-ResNet-50's 2..5) and
    in all. For another model the study puts SE in each of its stages alone, and says so.
    """
    if table != 13:
        return _FIXED[table], ""
    if not model_stages:
        raise SenetError(
            "Table 13 moves SE between stages, and this model's SE blocks are not numbered by "
            "stage (SE_<stage>_<block>); use a ResNet-family, CIFAR or ShuffleNet SE model"
        )
    if tuple(model_stages) == PAPER_STAGES:
        stages, note = (2, 3, 4), ""
    else:
        stages = tuple(model_stages)
        note = (
            f"Adapted to this model's stages {', '.join(map(str, stages))}: SE in each stage alone, and in "
            f"all (the paper's Table 13 uses SE-ResNet-50's stages 2, 3, 4 of 2..5)."
        )
    rows = [Variant(f"stage {s}", {"stages": (s,)}, paper=_STAGE_PAPER.get(s)) for s in stages]
    return [*rows, Variant("all", {}, paper=SE)], note


def only(rows: list[Variant], labels) -> list[Variant]:
    """The variants named in ``labels`` (comma-separated or a list); unknown labels name the allowed."""
    if not labels:
        return rows
    wanted = [s.strip() for s in labels.split(",")] if isinstance(labels, str) else list(labels)
    allowed = [v.label for v in rows]
    bad = [w for w in wanted if w not in allowed]
    if bad:
        raise SenetError(f"variants {bad} are not in this table; allowed: {', '.join(allowed)}")
    return [v for v in rows if v.label in wanted]
