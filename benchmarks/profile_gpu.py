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
from senet.deploy.benchmark import environment
from senet.fast import fuse_residual_steps, kernels


def _step(model, x, y, opt):
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)


def run(name: str, triton: bool, steps: int) -> dict:
    os.environ["SENET_TRITON"] = "1" if triton else "0"
    kernels.triton_enabled.cache_clear()
    torch.manual_seed(0)
    model = senet.create_model(name, layout="torchvision").cuda().to(memory_format=torch.channels_last)
    if triton:  # the Triton step runs in fused units only (senet.fast)
        fuse_residual_steps(model)
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


def host(name: str, triton: bool, steps: int = 20) -> dict:
    """Host time to enqueue one step (no sync) vs the step's wall time: equal means the CPU is the limit.
    Also the CPU ops that take the most host time (profiler, CPU activity)."""
    import time

    os.environ["SENET_TRITON"] = "1" if triton else "0"
    kernels.triton_enabled.cache_clear()
    model = senet.create_model(name, layout="torchvision").cuda().to(memory_format=torch.channels_last)
    if triton:  # the Triton step runs in fused units only (senet.fast)
        fuse_residual_steps(model)
    x = torch.randn(128, 3, 224, 224, device="cuda").contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 1000, (128,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9)
    for _ in range(5):
        _step(model, x, y, opt)
    enqueue, wall = [], []
    for _ in range(steps):
        torch.cuda.synchronize()
        t = time.perf_counter()
        _step(model, x, y, opt)
        enqueue.append(time.perf_counter() - t)
        torch.cuda.synchronize()
        wall.append(time.perf_counter() - t)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(3):
            _step(model, x, y, opt)
        torch.cuda.synchronize()
    top = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
    return {
        "model": name,
        "triton": triton,
        "enqueue_ms": round(sorted(enqueue)[steps // 2] * 1e3, 3),
        "wall_ms": round(sorted(wall)[steps // 2] * 1e3, 3),
        "top_cpu_ops": [
            {
                "name": e.key[:100],
                "self_cpu_ms_per_step": round(e.self_cpu_time_total / 3e3, 3),
                "calls": e.count / 3,
            }
            for e in top
        ],
    }


def main() -> None:
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    runs = [run("resnet50", True, steps), run("se_resnet50", False, steps), run("se_resnet50", True, steps)]
    hosts = [host("resnet50", True), host("se_resnet50", False), host("se_resnet50", True)]
    with open(sys.argv[1], "w") as f:
        json.dump(
            {
                "command": " ".join(["python", *sys.argv]),
                "environment": environment("cuda"),
                "runs": runs,
                "host": hosts,
            },
            f,
            indent=1,
        )
    for r in runs:
        print(f"\n{r['model']} triton={r['triton']}: {r['cuda_ms_per_step']} ms CUDA per step")
        for k in r["top_kernels"][:22]:
            print(f"  {k['ms_per_step']:8.3f} ms  x{k['calls_per_step']:5.0f}  {k['name'][:110]}")
    for h in hosts:
        print(
            f"\n{h['model']} triton={h['triton']}: enqueue {h['enqueue_ms']} ms, wall {h['wall_ms']} ms per step"
        )
        for k in h["top_cpu_ops"]:
            print(f"  {k['self_cpu_ms_per_step']:8.3f} ms  x{k['calls']:5.0f}  {k['name']}")


if __name__ == "__main__":
    main()
