"""Where the SE blocks' time goes in ONNX Runtime and OpenVINO (issue 24): per-node profiles of resnet50 and
se_resnet50 as `senet bench` runs them (`ort:`, `ort-int8[se=float]:`, `ov:`, `ov-int8:`), summed by part.

OpenVINO: the compiled model's performance counters (``PERF_COUNT``), each executed node assigned to a
part by the PyTorch layers fused into it (``originalLayersNames``). ONNX Runtime: its session profiler
(``enable_profiling``) over the optimized graph, each node assigned by the weights it reads and the ops
around it. Parts: the SE squeeze (Eq. 2), the excitation's FCs and gate (Eq. 3), the scale (Eq. 4, with
whatever the runtime fused into it), layout reorders, everything else (convolutions with their fused
BN/ReLU/add, pools, the classifier). Models alternate within each round; per node the median of the rounds.

Usage: .venv/bin/python benchmarks/profile_runtimes.py [--batch 1] [--rounds 10] [--output FILE]
(benchmarks/results/cpu_runtime_profile_b1.json; the table in docs/performance.md: deploy_table.py)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import senet
from senet.deploy import quantize as Q
from senet.deploy.benchmark import environment
from senet.runtimes import openvino as V
from senet.runtimes.onnx import INPUT_NAME

PARTS = ("SE squeeze", "SE FCs + gate", "SE scale", "add + ReLU", "layout reorders", "rest")
RUNTIMES = ("ort", "ort-int8", "ov", "ov-int8")  # as senet bench's prefixes (ort-int8 with se=float)


def build(runtime: str, model, size: int, batch: int):
    """The program `senet bench` runs for ``runtime``: ONNX bytes (ort*) or an ``openvino.Model`` (ov*)."""
    if runtime == "ort":
        return Q.onnx_runtime(model, size, 1).program
    if runtime == "ov":
        return V.convert(model, size)
    g = torch.Generator().manual_seed(0)
    calibration = [torch.randn(batch, 3, size, size, generator=g) for _ in range(4)]
    backend, se = ("ort", "float") if runtime == "ort-int8" else ("openvino", "int8")
    return Q.quantize(model, calibration, backend=backend, se=se, threads=1).program


# ---- OpenVINO ---------------------------------------------------------------------------------------------
def ov_part(node_type: str, layers: str) -> str:
    """The part of an executed OpenVINO node, from the PyTorch layers fused into it."""
    if node_type == "Reorder":
        return "layout reorders"
    if ".se.fc" in layers or ".se.relu" in layers or "gate_fn" in layers:
        return "SE FCs + gate"
    if ".se/aten::mean" in layers:
        return "SE squeeze"
    if ".se/aten::mul" in layers:
        return "SE scale"
    if node_type == "Eltwise" and "aten::add" in layers:
        return "add + ReLU"
    return "rest"


class OVProfile:
    def __init__(self, ov_model, batch: int, size: int):
        import openvino as ov

        ov_model = ov_model.clone()
        ov_model.reshape([batch, 3, size, size])
        config = {
            "INFERENCE_NUM_THREADS": 1,
            "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32",  # as senet.runtimes.openvino.runner
            "PERF_COUNT": True,
        }
        self.compiled = ov.Core().compile_model(ov_model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        self.layers = {}
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            self.layers[op.get_friendly_name()] = (
                info["originalLayersNames"].astype(str) if "originalLayersNames" in info else ""
            )
        self.times = collections.defaultdict(list)
        self.parts = {}

    def __call__(self, x: np.ndarray) -> None:
        self.request.infer({0: x})
        for p in self.request.profiling_info:
            if p.status != p.Status.EXECUTED:
                continue
            self.times[p.node_name].append(p.real_time.total_seconds() * 1e3)
            self.parts[p.node_name] = ov_part(p.node_type, self.layers.get(p.node_name, ""))


# ---- ONNX Runtime -----------------------------------------------------------------------------------------
def ort_parts(graph) -> dict[str, str]:
    """The part of each node of an optimized ONNX graph. Its weights are renamed by then (the blocked
    layout's reorders), so by structure: a squeeze is a global pool from which a Mul is reached within a
    few nodes (the final pool reaches the classifier instead); the nodes in between are the excitation,
    the Mul the scale (Eq. 2-4). A separate Add or Relu is "add + ReLU": a plain unit fuses both into its
    last convolution."""
    consumers = collections.defaultdict(list)
    for n in graph.node:
        for i in n.input:
            consumers[i].append(n)
    parts = {}
    for n in graph.node:
        if n.op_type.startswith("Reorder"):
            parts[n.name] = "layout reorders"
        elif n.op_type in ("Add", "Relu", "QLinearAdd", "Sum"):
            parts[n.name] = "add + ReLU"
    for pool in graph.node:
        if pool.op_type not in ("ReduceMean", "GlobalAveragePool", "QLinearGlobalAveragePool"):
            continue
        path, frontier = [], [c for o in pool.output for c in consumers[o]]
        scale = None
        for _ in range(12):
            scale = next((c for c in frontier if c.op_type in ("Mul", "QLinearMul")), None)
            if scale is not None or not frontier:
                break
            path += [c for c in frontier if not c.op_type.startswith("Reorder")]
            frontier = [nxt for c in frontier for o in c.output for nxt in consumers[o]]
        if scale is None:
            continue
        parts[pool.name], parts[scale.name] = "SE squeeze", "SE scale"
        for c in path:
            parts[c.name] = "SE FCs + gate"
    return parts


class ORTProfile:
    def __init__(self, program: bytes, tmp: str, tag: str):
        import onnx
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1  # as senet.runtimes.onnx.ort_runner
        options.log_severity_level = 3
        options.optimized_model_filepath = os.path.join(tmp, f"{tag}.opt.onnx")
        ort.InferenceSession(program, options, providers=["CPUExecutionProvider"])
        self.node_parts = ort_parts(onnx.load(options.optimized_model_filepath).graph)
        options.optimized_model_filepath = ""
        options.enable_profiling = True
        options.profile_file_prefix = os.path.join(tmp, tag)
        self.session = ort.InferenceSession(program, options, providers=["CPUExecutionProvider"])
        self.times = collections.defaultdict(list)
        self.parts = {}
        self.runs = 0

    def __call__(self, x: np.ndarray) -> None:
        self.session.run(None, {INPUT_NAME: x})
        self.runs += 1

    def finish(self, skip: int) -> None:
        """Read the profiler's events; the first ``skip`` runs (warm-up) are dropped."""
        with open(self.session.end_profiling()) as f:
            events = json.load(f)
        seen = collections.Counter()
        for e in events:
            if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
                continue
            name = e["name"][: -len("_kernel_time")]
            seen[name] += 1
            if seen[name] > skip:
                self.times[name].append(e["dur"] / 1e3)
                self.parts[name] = self.node_parts.get(name, "rest")


def summary(prof) -> dict:
    medians = {k: statistics.median(v) for k, v in prof.times.items()}
    parts = dict.fromkeys(PARTS, 0.0)
    nodes = collections.Counter()
    for k, t in medians.items():
        parts[prof.parts[k]] += t
        nodes[prof.parts[k]] += 1
    return {
        "total_ms": sum(medians.values()),
        "parts_ms": parts,
        "nodes": dict(nodes),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet50,se_resnet50")
    p.add_argument("--runtimes", default=",".join(RUNTIMES))
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--output")
    args = p.parse_args()
    torch.set_num_threads(1)
    names, runtimes = args.models.split(","), args.runtimes.split(",")
    x = np.random.default_rng(0).standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        profs = {}
        for name in names:
            torch.manual_seed(0)
            model = senet.create_model(name).eval()
            for rt in runtimes:
                print(f"building {rt}:{name}", file=sys.stderr)
                program = build(rt, model, args.size, args.batch)
                tag = f"{rt}_{name}"
                profs[rt, name] = (
                    OVProfile(program, args.batch, args.size)
                    if rt.startswith("ov")
                    else ORTProfile(program, tmp, tag)
                )
        for r in range(args.warmup + args.rounds):
            for prof in profs.values():
                prof(x)
                if r < args.warmup and isinstance(prof, OVProfile):
                    prof.times.clear()
        result = {
            "command": " ".join(shlex.quote(a) for a in sys.argv),
            "config": {"batch_size": args.batch, "size": args.size, "rounds": args.rounds, "threads": 1},
            "environment": environment("cpu"),
            "profiles": {},
        }
        for (rt, name), prof in profs.items():
            if isinstance(prof, ORTProfile):
                prof.finish(args.warmup)
            result["profiles"].setdefault(rt, {})[name] = summary(prof)
    for rt, models in result["profiles"].items():
        for name, s in models.items():
            parts = ", ".join(f"{k} {v:.2f}" for k, v in s["parts_ms"].items())
            print(f"{rt}:{name}: {s['total_ms']:.2f} ms ({parts})")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
