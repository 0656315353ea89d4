"""Where an SE-ResNet-50 training step spends its GPU time beyond ResNet-50's (torch.profiler, CUDA).

bf16 autocast, channels-last, batch 128, 224 px, SGD step; ``se_resnet50`` with the Triton path on and
off (``SENET_TRITON``) and its plain twin. Prints and writes, per configuration, the total CUDA time of
one step and the kernels that take the most of it (summed over the profiled steps, per step).

Usage: python benchmarks/profile_gpu.py OUT.json [STEPS]
"""

from __future__ import annotations

import json
import os
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

import senet
from senet import kernels
from senet.analysis.bench import environment


def _step(model, x, y, opt):
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def run(name: str, triton: bool, steps: int) -> dict:
    os.environ["SENET_TRITON"] = "1" if triton else "0"
    kernels.triton_available.cache_clear()
    torch.manual_seed(0)
    model = senet.create_model(name, layout="torchvision").cuda().to(memory_format=torch.channels_last)
    x = torch.randn(128, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (128,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    for _ in range(5):
        _step(model, x, y, opt)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            _step(model, x, y, opt)
        torch.cuda.synchronize()
    events = [e for e in prof.key_averages() if e.device_time_total > 0]
    total = sum(e.self_device_time_total for e in events) / steps / 1e3
    top = sorted(events, key=lambda e: e.self_device_time_total, reverse=True)[:30]
    return {
        "model": name,
        "triton": triton,
        "cuda_ms_per_step": round(total, 3),
        "top_kernels": [
            {
                "name": e.key[:140],
                "ms_per_step": round(e.self_device_time_total / steps / 1e3, 4),
                "calls_per_step": e.count / steps,
            }
            for e in top
        ],
    }


def main() -> None:
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    runs = [run("resnet50", True, steps), run("se_resnet50", False, steps), run("se_resnet50", True, steps)]
    with open(sys.argv[1], "w") as f:
        json.dump(
            {"command": " ".join(["python", *sys.argv]), "environment": environment("cuda"), "runs": runs},
            f,
            indent=1,
        )
    for r in runs:
        print(f"\n{r['model']} triton={r['triton']}: {r['cuda_ms_per_step']} ms CUDA per step")
        for k in r["top_kernels"][:22]:
            print(f"  {k['ms_per_step']:8.3f} ms  x{k['calls_per_step']:5.0f}  {k['name'][:110]}")


if __name__ == "__main__":
    main()
