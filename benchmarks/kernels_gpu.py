"""The fused SE step on CUDA: per op, and in a whole SE-ResNet-50, plain vs fused vs Triton (needs a GPU).

Per op, at SE-ResNet-50's four stage shapes (batch 128, bf16, NCHW and channels-last), ``relu(x * s + r)``
(eager, three passes), ``addcmul(r, x, s).relu_()`` (the PyTorch fused step) and the Triton kernel, by
``triton.testing.do_bench`` (median ms; GB/s counts the bytes each must move).

Whole model: ``se_resnet50`` (torchvision layout), bf16 autocast, channels-last, batch 128: the model's
own (plain) forward, its units fused (``senet.fast.fuse_residual_steps``, PyTorch step) and fused with
the Triton kernel (``SENET_TRITON=1``), interleaved round by round in one process; inference and a
training step.

Usage: python benchmarks/kernels_gpu.py OUT.json [ROUNDS]
"""

from __future__ import annotations

import copy
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F
import triton.testing

import senet
from senet.deploy.benchmark import environment
from senet.fast import _triton as T
from senet.fast import fuse_residual_steps, kernels

SHAPES = [(128, 256, 56, 56), (128, 512, 28, 28), (128, 1024, 14, 14), (128, 2048, 7, 7)]


def _ms(fn) -> float:
    return triton.testing.do_bench(fn, warmup=25, rep=100, return_mode="median")


def ops() -> list[dict]:
    rows = []
    for fmt_name, fmt in (("nchw", torch.contiguous_format), ("nhwc", torch.channels_last)):
        for shape in SHAPES:
            x = torch.randn(shape, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=fmt)
            r = torch.randn_like(x)
            s = torch.rand(shape[0], shape[1], 1, 1, device="cuda", dtype=torch.bfloat16)
            ms = {
                "torch_eager": _ms(lambda x=x, s=s, r=r: torch.relu(x * s + r)),
                "torch_addcmul": _ms(lambda x=x, s=s, r=r: torch.addcmul(r, x, s).relu_()),
                "triton": _ms(lambda x=x, s=s, r=r: T.scale_add_relu(x, s, r)),
            }
            nbytes = 3 * x.numel() * x.element_size()
            gbs = {k: round(nbytes / v / 1e6, 1) for k, v in ms.items()}
            rows.append({"format": fmt_name, "shape": list(shape), "ms": ms, "gb_per_s": gbs})
    return rows


def _triton(on: bool) -> None:
    os.environ["SENET_TRITON"] = "1" if on else "0"
    kernels.triton_enabled.cache_clear()


def whole_model(rounds: int) -> dict:
    plain = (
        senet.create_model("se_resnet50", layout="torchvision").cuda().to(memory_format=torch.channels_last)
    )
    fused = copy.deepcopy(plain)
    fuse_residual_steps(fused)
    variants = {"plain": (plain, False), "fused": (fused, False), "fused_triton": (fused, True)}
    x = torch.randn(128, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (128,), device="cuda")
    opts = {id(m): torch.optim.SGD(m.parameters(), lr=1e-6, momentum=0.9) for m in (plain, fused)}

    def step(model, mode):
        if mode == "infer":
            with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
                model(x)
            return
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opts[id(model)].step()
        opts[id(model)].zero_grad(set_to_none=True)

    out = {}
    for mode in ("infer", "train"):
        for m in (plain, fused):
            m.train(mode == "train")
        times = {k: [] for k in variants}
        for m, on in variants.values():
            _triton(on)
            for _ in range(5):
                step(m, mode)
        names = list(variants)
        for i in range(rounds):
            for k in names[i % 3 :] + names[: i % 3]:
                m, on = variants[k]
                _triton(on)
                torch.cuda.synchronize()
                t = time.perf_counter()
                step(m, mode)
                torch.cuda.synchronize()
                times[k].append((time.perf_counter() - t) * 1e3)
        med = {k: statistics.median(v) for k, v in times.items()}
        out[mode] = {k: {"ms": round(v, 3), "x_plain": round(med["plain"] / v, 4)} for k, v in med.items()}
    _triton(False)
    return out


def main() -> None:
    out_path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    result = {
        "command": " ".join(["python", *sys.argv]),
        "environment": environment("cuda"),
        "ops_bf16": ops(),
        "se_resnet50_bf16_channels_last_batch128": whole_model(rounds),
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1)
    for row in result["ops_bf16"]:
        print(row["format"], row["shape"], row["gb_per_s"])
    print(json.dumps(result["se_resnet50_bf16_channels_last_batch128"], indent=1))


if __name__ == "__main__":
    main()
