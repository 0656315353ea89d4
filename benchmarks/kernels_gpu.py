"""The SE kernels on CUDA: Triton vs PyTorch, per op and in a whole SE-ResNet-50 (needs a GPU).

Per op, at SE-ResNet-50's four stage shapes (batch 128, bf16 and fp32, NCHW and channels-last):
  squeeze (Eq. 2): ``x.mean((2, 3), keepdim=True)`` vs the Triton pool;
  scale + residual + ReLU (Eq. 4, Fig. 3): ``relu(x * s + r)`` (eager, three passes),
  ``addcmul(r, x, s).relu_()`` (the PyTorch fast path) vs the Triton kernel.
Times are the median of ``triton.testing.do_bench`` (ms); GB/s counts the bytes each op must move.

Whole model: ``se_resnet50`` (torchvision layout), bf16 autocast, channels-last, batch 128, with the
Triton path on and off (``SENET_TRITON``), interleaved round by round in one process, train step and
inference.

Usage: python benchmarks/kernels_gpu.py OUT.json [ROUNDS]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import triton.testing
from senet.kernels import _triton as T

import senet
from senet import kernels
from senet.benchmark import environment

SHAPES = [(128, 256, 56, 56), (128, 512, 28, 28), (128, 1024, 14, 14), (128, 2048, 7, 7)]


def _ms(fn) -> float:
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def ops() -> list[dict]:
    rows = []
    for dtype in (torch.bfloat16, torch.float32):
        for fmt_name, fmt in (("nchw", torch.contiguous_format), ("nhwc", torch.channels_last)):
            for shape in SHAPES:
                n, c = shape[:2]
                x = torch.randn(shape, device="cuda", dtype=dtype).contiguous(memory_format=fmt)
                r = torch.randn_like(x)
                s = torch.rand(n, c, 1, 1, device="cuda", dtype=dtype)
                nbytes = x.numel() * x.element_size()
                pool = {
                    "torch_mean": _ms(lambda x=x: x.mean((2, 3), keepdim=True)),
                    "triton": _ms(lambda x=x: T.pool(x)),
                }
                sar = {
                    "torch_eager": _ms(lambda x=x, s=s, r=r: torch.relu(x * s + r)),
                    "torch_addcmul": _ms(lambda x=x, s=s, r=r: torch.addcmul(r, x, s).relu_()),
                    "triton": _ms(lambda x=x, s=s, r=r: T.scale_add_relu(x, s, r)),
                }
                base = dict(dtype=str(dtype).split(".")[1], format=fmt_name, shape=list(shape))
                rows.append({**base, "op": "squeeze", "bytes": nbytes, "ms": pool})
                rows.append({**base, "op": "scale_add_relu", "bytes": 3 * nbytes, "ms": sar})
                for row in rows[-2:]:
                    row["gb_per_s"] = {k: round(row["bytes"] / v / 1e6, 1) for k, v in row["ms"].items()}
    return rows


def _set_triton(on: bool) -> None:
    os.environ["SENET_TRITON"] = "1" if on else "0"
    kernels.triton_available.cache_clear()


def whole_model(rounds: int) -> dict:
    model = (
        senet.create_model("se_resnet50", layout="torchvision").cuda().to(memory_format=torch.channels_last)
    )
    x = torch.randn(128, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (128,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)

    def train():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    def infer():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            model(x)

    out = {}
    for mode, step in (("train", train), ("infer", infer)):
        model.train(mode == "train")
        times = {True: [], False: []}
        for on in (True, False):
            _set_triton(on)
            for _ in range(5):
                step()
        for i in range(rounds):
            for on in (i % 2 == 0, i % 2 == 1):
                _set_triton(on)
                torch.cuda.synchronize()
                t = time.perf_counter()
                step()
                torch.cuda.synchronize()
                times[on].append((time.perf_counter() - t) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        out[mode] = {
            "ms_triton": round(med[True], 3),
            "ms_pytorch": round(med[False], 3),
            "speedup_triton": round(med[False] / med[True], 4),
            "images_per_s_triton": round(128 / med[True] * 1e3, 1),
            "images_per_s_pytorch": round(128 / med[False] * 1e3, 1),
        }
    _set_triton(True)
    return out


def main() -> None:
    out_path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    assert kernels.triton_available(), "needs CUDA and Triton"
    result = {
        "command": " ".join(["python", *sys.argv]),
        "environment": environment("cuda"),
        "ops": ops(),
        "se_resnet50_bf16_channels_last_batch128": whole_model(rounds),
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    for row in result["ops"]:
        print(row["op"], row["dtype"], row["format"], row["shape"], row["gb_per_s"])
    print(json.dumps(result["se_resnet50_bf16_channels_last_batch128"], indent=1))


if __name__ == "__main__":
    main()
