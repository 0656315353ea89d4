"""The paper's reference numbers (PAPER.md sections 4, 5, 7) as data, for ``senet complexity --paper``.

``params`` is exact where the paper (or the released model) gives it exactly, else in millions as the
paper prints it (``exact=False``: compared after rounding to 0.1M). ``gflops`` are multiply-adds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PaperRow:
    source: str  # where the number comes from: "Sec. 4", "Table 2", ...
    label: str  # the paper's name for the network
    model: str  # our registered name
    options: dict = field(default_factory=dict)  # create_model options (the ablation knobs)
    params: float | None = None
    gflops: float | None = None
    input_size: int | None = None
    exact: bool = True  # params exact (int) or in millions as printed


M = 1e6
ROWS: list[PaperRow] = [
    # Exact parameter counts of the official models (PAPER.md section 4) and FLOPs of Table 2.
    PaperRow("Table 2", "ResNet-50", "resnet50", params=25_557_032, gflops=3.86),
    PaperRow("Table 2", "SE-ResNet-50", "se_resnet50", params=28_088_024, gflops=3.87),
    PaperRow("Sec. 4", "SE-ResNet-50, no SE biases", "se_resnet50", {"bias": False}, params=28_071_976),
    PaperRow("Table 2", "ResNet-101", "resnet101", gflops=7.58),
    PaperRow("Table 2", "SE-ResNet-101", "se_resnet101", params=49_326_872, gflops=7.60),
    PaperRow("Table 2", "ResNet-152", "resnet152", gflops=11.30),
    PaperRow("Table 2", "SE-ResNet-152", "se_resnet152", params=66_821_848, gflops=11.32),
    PaperRow("Table 2", "ResNeXt-50", "resnext50_32x4d", gflops=4.24),
    PaperRow("Table 2", "SE-ResNeXt-50", "se_resnext50_32x4d", params=27_559_896, gflops=4.25),
    PaperRow("Table 2", "ResNeXt-101", "resnext101_32x4d", gflops=7.99),
    PaperRow("Table 2", "SE-ResNeXt-101", "se_resnext101_32x4d", params=48_955_416, gflops=8.00),
    PaperRow("Table 8", "SENet-154 (224)", "senet154", params=115_088_984, gflops=20.7),
    PaperRow("Table 8", "SENet-154 (320)", "senet154", gflops=42.2, input_size=320),
    # Ablations on SE-ResNet-50 (PAPER.md section 7); the TPAMI ablations use no SE biases.
    *[
        PaperRow(
            "Table 10", f"SE-ResNet-50 r={r}", "se_resnet50", {"reduction": r}, params=p * M, exact=False
        )
        for r, p in ((2, 45.7), (4, 35.7), (8, 30.7), (16, 28.1), (32, 26.9))
    ],
    PaperRow(
        "Table 10",
        "SE-ResNet-50 r=2, no bias",
        "se_resnet50",
        {"reduction": 2, "bias": False},
        params=45_676_584,
    ),
    PaperRow("Table 10", "SE-ResNet-50 r=2, bias", "se_resnet50", {"reduction": 2}, params=45_699_240),
    PaperRow("Table 10", "ResNet-50", "resnet50", params=25.6 * M, exact=False),
    *[
        PaperRow(
            "Table 13",
            f"SE stage {s} only, no bias",
            "se_resnet50",
            {"stages": (s,), "bias": False},
            params=p,
        )
        for s, p in ((2, 25_581_608), (3, 25_688_104), (4, 26_343_464))
    ],
    PaperRow("Table 13", "SE all stages", "se_resnet50", params=28.1 * M, exact=False),
    PaperRow("Table 15", "SE_3x3", "se_resnet50", {"placement": "3x3"}, params=25_718_228, gflops=3.86),
    PaperRow(
        "Table 16", "NoSqueeze", "se_resnet50", {"squeeze": "none"}, params=28.1 * M, gflops=4.27, exact=False
    ),
    # ---- the rest of the zoo (Tables 2 and 3) ----
    PaperRow("Table 2", "VGG-16 (BN)", "vgg16_bn", gflops=15.47),
    PaperRow("Table 2", "SE-VGG-16 (BN)", "se_vgg16_bn", gflops=15.48),
    PaperRow("Table 2", "BN-Inception", "bn_inception", gflops=2.03),
    PaperRow("Table 2", "SE-BN-Inception", "se_bn_inception", params=11_931_622, gflops=2.04),
    PaperRow("Table 2", "Inception-ResNet-v2 (299)", "inception_resnet_v2", gflops=11.75, input_size=299),
    PaperRow(
        "Table 2", "SE-Inception-ResNet-v2 (299)", "se_inception_resnet_v2", gflops=11.76, input_size=299
    ),
    PaperRow("Table 3", "MobileNet 1.0-224", "mobilenet", params=4.2 * M, gflops=0.569, exact=False),
    PaperRow("Table 3", "SE-MobileNet 1.0-224", "se_mobilenet", params=4.7 * M, gflops=0.572, exact=False),
    PaperRow("Table 3", "ShuffleNet 1x (g=3)", "shufflenet_g3", params=1.8 * M, gflops=0.140, exact=False),
    PaperRow(
        "Table 3", "SE-ShuffleNet 1x (g=3)", "se_shufflenet_g3", params=2.4 * M, gflops=0.142, exact=False
    ),
]
