"""The paper's reference numbers (PAPER.md sections 4, 5, 7) as data, for ``senet complexity --paper``.

Each number says where it comes from and is written as it is given, so that it is compared at its own
precision: ``"28.1M"`` matches a count that rounds to 28.1 million, ``"3.87"`` GFLOPs one that rounds to
3.87, ``"28,088,024"`` only the exact count. ``printed``: in the paper's tables or text; ``released``:
the official model's exact count (PAPER.md section 4), which the paper prints rounded. Numbers the paper
does not print (SENet-154's GFLOPs) are not here: ``senet complexity`` gives ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

PRINTED, RELEASED = "printed", "released"


@dataclass(frozen=True)
class Given:
    """A number as the source gives it: the text (``"26.4M"``, ``"3.87"``, ``"28,088,024"``) and its kind."""

    text: str
    kind: str = PRINTED

    @property
    def unit(self) -> float:
        return 1e6 if self.text.endswith("M") else 1.0

    @property
    def value(self) -> float:
        return float(self.text.rstrip("M").replace(",", "")) * self.unit

    @property
    def decimals(self) -> int:
        """How many decimals the text has (in its own unit): the precision to compare at."""
        exponent = Decimal(self.text.rstrip("M").replace(",", "")).as_tuple().exponent
        return max(0, -exponent)

    def matches(self, ours: float) -> bool:
        """``ours`` rounded as the text is rounded equals the text (half up, as printed tables round)."""
        q = Decimal(1).scaleb(-self.decimals)
        rounded = (Decimal(repr(ours / self.unit))).quantize(q, rounding="ROUND_HALF_UP")
        return rounded == Decimal(self.text.rstrip("M").replace(",", "")).quantize(q)


@dataclass(frozen=True)
class PaperRow:
    source: str  # where the number comes from: "Sec. 4", "Table 2", ...
    label: str  # the paper's name for the network
    model: str  # our registered name
    options: dict = field(default_factory=dict)  # create_model options (the ablation knobs)
    params: Given | None = None
    gflops: Given | None = None
    input_size: int | None = None
    note: str = ""


def _p(text: str) -> Given:
    return Given(text)


def _r(text: str) -> Given:
    return Given(text, RELEASED)


NO_BIAS = {"bias": False}  # the TPAMI ablations (Tables 10-16) train SE blocks without FC biases
ROWS: list[PaperRow] = [
    # Table 2 and the official models' exact counts (PAPER.md sections 4, 5).
    PaperRow("Table 2", "ResNet-50", "resnet50", params=_r("25,557,032"), gflops=_p("3.86")),
    PaperRow("Table 2", "SE-ResNet-50", "se_resnet50", params=_r("28,088,024"), gflops=_p("3.87")),
    PaperRow("Sec. 4", "SE-ResNet-50, no SE biases", "se_resnet50", NO_BIAS, params=_r("28,071,976")),
    PaperRow("Table 2", "ResNet-101", "resnet101", gflops=_p("7.58")),
    PaperRow("Table 2", "SE-ResNet-101", "se_resnet101", params=_r("49,326,872"), gflops=_p("7.60")),
    PaperRow("Table 2", "ResNet-152", "resnet152", gflops=_p("11.30")),
    PaperRow("Table 2", "SE-ResNet-152", "se_resnet152", params=_r("66,821,848"), gflops=_p("11.32")),
    PaperRow("Table 2", "ResNeXt-50", "resnext50_32x4d", gflops=_p("4.24")),
    PaperRow("Table 2", "SE-ResNeXt-50", "se_resnext50_32x4d", params=_r("27,559,896"), gflops=_p("4.25")),
    PaperRow("Table 2", "ResNeXt-101", "resnext101_32x4d", gflops=_p("7.99")),
    PaperRow("Table 2", "SE-ResNeXt-101", "se_resnext101_32x4d", params=_r("48,955,416"), gflops=_p("8.00")),
    PaperRow(
        "Table 8", "SENet-154", "senet154", params=_r("115,088,984"), note="GFLOPs not printed in the paper"
    ),
    # Ablations on SE-ResNet-50 (PAPER.md section 7), no SE biases.
    *[
        PaperRow("Table 10", f"SE-ResNet-50 r={r}", "se_resnet50", {"reduction": r, **NO_BIAS}, params=_p(p))
        for r, p in ((2, "45.7M"), (4, "35.7M"), (8, "30.7M"), (16, "28.1M"), (32, "26.9M"))
    ],
    PaperRow("Table 10", "ResNet-50", "resnet50", params=_p("25.6M")),
    *[
        PaperRow("Table 13", f"SE stage {s} only", "se_resnet50", {"stages": (s,), **NO_BIAS}, params=_p(p))
        for s, p in ((2, "25.6M"), (3, "25.7M"), (4, "26.4M"))
    ],
    PaperRow("Table 13", "SE all stages", "se_resnet50", NO_BIAS, params=_p("28.1M")),
    PaperRow(
        "Table 15",
        "SE_3x3",
        "se_resnet50",
        {"placement": "3x3", **NO_BIAS},
        params=_p("25.8M"),
        gflops=_p("3.86"),
    ),
    PaperRow(
        "Table 16",
        "NoSqueeze",
        "se_resnet50",
        {"squeeze": "none", **NO_BIAS},
        params=_p("28.1M"),
        gflops=_p("4.27"),
    ),
    # ---- the rest of the zoo (Tables 2 and 3) ----
    PaperRow("Table 2", "VGG-16 (BN)", "vgg16_bn", gflops=_p("15.47")),
    PaperRow("Table 2", "SE-VGG-16 (BN)", "se_vgg16_bn", gflops=_p("15.48")),
    PaperRow("Table 2", "BN-Inception", "bn_inception", gflops=_p("2.03")),
    PaperRow("Table 2", "SE-BN-Inception", "se_bn_inception", params=_r("11,931,622"), gflops=_p("2.04")),
    PaperRow(
        "Table 2",
        "Inception-ResNet-v2 (299)",
        "inception_resnet_v2",
        gflops=_p("11.75"),
        input_size=299,
        note="the released network costs 13.16 at 299; 11.76 with grids one cell smaller (docs/models.md)",
    ),
    PaperRow(
        "Table 2",
        "SE-Inception-ResNet-v2 (299)",
        "se_inception_resnet_v2",
        gflops=_p("11.76"),
        input_size=299,
    ),
    PaperRow("Table 3", "MobileNet 1.0-224", "mobilenet", params=_p("4.2M"), gflops=_p("0.569")),
    PaperRow("Table 3", "SE-MobileNet 1.0-224", "se_mobilenet", params=_p("4.7M"), gflops=_p("0.572")),
    PaperRow("Table 3", "ShuffleNet 1x (g=3)", "shufflenet_g3", params=_p("1.8M"), gflops=_p("0.140")),
    PaperRow("Table 3", "SE-ShuffleNet 1x (g=3)", "se_shufflenet_g3", params=_p("2.4M"), gflops=_p("0.142")),
]

# SE-minus-plain GFLOPs as the paper prints them (Tables 2 and 3): the evidence for counting the squeeze and
# the scale as one operation per element together (senet.models.counting).
PRINTED_DELTAS = {
    ("resnet152", "se_resnet152"): "0.02",
    ("resnext101_32x4d", "se_resnext101_32x4d"): "0.01",
    ("vgg16_bn", "se_vgg16_bn"): "0.01",
    ("mobilenet", "se_mobilenet"): "0.003",
    ("shufflenet_g3", "se_shufflenet_g3"): "0.002",
}
