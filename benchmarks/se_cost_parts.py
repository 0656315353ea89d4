"""What each part of the SE block costs on the CPU at batch 1: the fp32 overhead taken apart.

`optimize_for_inference` models (BN folded, fused scale + add + ReLU), timed interleaved round by round:
resnet50; se_resnet50; and se_resnet50 with its gates replaced by (a) a constant 1 (the scale and add
alone), (b) the squeeze alone (the gate is the channel mean), (c) the FCs and sigmoid on a constant input
(no squeeze), (d) the FCs as `addmm` on pre-transposed weights instead of 1x1 convolutions (the same
function up to round-off). (a)-(c) are not SE networks; they only split the time.
Usage: .venv/bin/python benchmarks/se_cost_parts.py [--rounds 30] [--output FILE]
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import statistics
import sys
import time

import torch

import senet
from senet.deploy.benchmark import environment
from senet.layers import SqueezeExcitation

_ONES: dict[int, torch.Tensor] = {}


def _ones(c: int) -> torch.Tensor:
    return _ONES.setdefault(c, torch.ones(1, c, 1, 1))


def scale_only(self, x):
    return _ones(x.shape[1])


def squeeze_only(self, x):
    return x.mean((2, 3), keepdim=True)


def fcs_only(self, x):
    return self.gate_fn(self.fc2(self.relu(self.fc1(_ones(x.shape[1])))))


def fcs_as_addmm(self, x):
    h = torch.addmm(self.b1, x.mean((2, 3)), self.w1t).relu_()
    return torch.addmm(self.b2, h, self.w2t).sigmoid_()[:, :, None, None]


def _variant(base, gate):
    m = copy.deepcopy(base)
    for mod in m.modules():
        if isinstance(mod, SqueezeExcitation):
            mod.w1t = mod.fc1.weight.detach().flatten(1).t().contiguous()
            mod.w2t = mod.fc2.weight.detach().flatten(1).t().contiguous()
            mod.b1, mod.b2 = mod.fc1.bias.detach(), mod.fc2.bias.detach()
            mod.gate = gate.__get__(mod)
    return senet.optimize_for_inference(m)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--output")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    base = senet.create_model("se_resnet50").eval()
    models = {
        "resnet50": senet.optimize_for_inference(senet.create_model("resnet50").eval()),
        "se_resnet50": senet.optimize_for_inference(base),
        "scale and add only": _variant(base, scale_only),
        "squeeze only": _variant(base, squeeze_only),
        "FCs + sigmoid only": _variant(base, fcs_only),
        "se_resnet50, FCs as addmm": _variant(base, fcs_as_addmm),
    }
    x = torch.randn(1, 3, 224, 224)
    ms = {k: [] for k in models}
    with torch.inference_mode():
        for m in models.values():
            m(x)
        for _ in range(args.rounds):
            for k, m in models.items():
                t = time.perf_counter()
                m(x)
                ms[k].append((time.perf_counter() - t) * 1e3)
    rows = {
        k: {
            "ms": statistics.median(v),
            "x_resnet50": statistics.median(a / b for a, b in zip(v, ms["resnet50"])),
        }
        for k, v in ms.items()
    }
    result = {
        "command": shlex.join(["benchmarks/se_cost_parts.py", *sys.argv[1:]]),
        "environment": environment(),
        "threads": 1,
        "rounds": args.rounds,
        "rows": rows,
        "samples_ms": ms,
    }
    for k, r in rows.items():
        print(f"{k:28s} {r['ms']:8.1f} ms  {r['x_resnet50']:.4f}x resnet50")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
