"""The CPU deployment tables of docs/performance.md, computed from the files in benchmarks/results/.

Ratios are medians of per-round ratios (each round times every model once, interleaved), so a model's
ratio to another is taken from the same rounds. A test checks that the docs hold this script's output.
Usage: .venv/bin/python benchmarks/deploy_table.py
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
RUNTIMES = {
    "": "PyTorch eager, fp32",
    "folded": "BN folded + fused steps (`optimize_for_inference`)",
    "compiled": "`torch.compile` (Inductor), fp32",
    "compiled:folded": "folded, then compiled",
    "bf16": "bf16 autocast",
    "int8": "int8 PT2E + Inductor",
    "int8[se=float]": "int8 PT2E + Inductor, SE in float",
    "ort": "ONNX Runtime fp32",
    "ort-int8": "ONNX Runtime int8 (QDQ)",
    "ort-int8[se=float]": "ONNX Runtime int8, SE in float",
}


def _load(name: str) -> dict:
    return json.loads((RESULTS / name).read_text())


def _samples(result: dict) -> dict[str, list[float]]:
    return {r["model"]: r["samples_ms"] for r in result["models"]}


def _ratio(samples, a: str, b: str) -> float:
    """Median over rounds of ms(a) / ms(b)."""
    return statistics.median(x / y for x, y in zip(samples[a], samples[b]))


def _split(ref: str) -> tuple[str, str]:
    runtime, _, model = ref.rpartition(":")
    return runtime, model


def _where(result: dict) -> str:
    env, cfg = result["environment"], result["config"]
    return (
        f"{env['cpu']}, {cfg['threads']} thread, batch {cfg['batch_size']}, {cfg['size']} px, "
        f"{cfg['iters']} interleaved rounds, {env['date'][:10]}, torch {env['torch']}"
    )


def backends_table() -> str:
    result = _load("cpu_deploy_backends_b1.json")
    s = _samples(result)
    rows = [
        "| runtime | se_resnet50 ms | x se_resnet50 eager | SE overhead (x resnet50, same runtime) |",
        "|---|---|---|---|",
    ]
    for ref in s:
        runtime, model = _split(ref)
        if model != "se_resnet50":
            continue
        plain = f"{runtime.split('[')[0] + ':' if runtime else ''}resnet50"
        overhead = f"{_ratio(s, ref, plain):.3f}" if plain in s else "-"
        ms = statistics.median(s[ref])
        rows.append(
            f"| {RUNTIMES.get(runtime, runtime)} | {ms:.1f} | {_ratio(s, ref, 'se_resnet50'):.3f} | {overhead} |"
        )
    return f"`cpu_deploy_backends_b1.json`: {_where(result)}.\n\n" + "\n".join(rows)


def overhead_table() -> str:
    rows = [
        "| batch | se_resnet50 / resnet50 eager | timm legacy_seresnet50 / resnet50 | folded se / folded plain |",
        "|---|---|---|---|",
    ]
    where = []
    for b in (1, 8):
        result = _load(f"cpu_deploy_se_overhead_b{b}.json")
        s = _samples(result)
        rows.append(
            f"| {b} | {_ratio(s, 'se_resnet50', 'resnet50'):.3f} | "
            f"{_ratio(s, 'timm:legacy_seresnet50', 'resnet50'):.3f} | "
            f"{_ratio(s, 'folded:se_resnet50', 'folded:resnet50'):.3f} |"
        )
        where.append(f"`cpu_deploy_se_overhead_b{b}.json`: {_where(result)}")
    return "; ".join(where) + ".\n\n" + "\n".join(rows)


def accuracy_table() -> str:
    data = _load("quantize_digits_se_resnet20.json")
    rows = [
        "| backend | SE in | agreement with fp32 | fp32 top-1 error | int8 top-1 error |",
        "|---|---|---|---|---|",
    ]
    for r in data["runs"]:
        rows.append(
            f"| {r['backend']} | {r['se']} | {r['agreement']:.2f}% | {r['float_top1_error']:.2f}% | "
            f"{r['int8_top1_error']:.2f}% |"
        )
    v = data["versions"]
    head = (
        f"`quantize_digits_se_resnet20.json` ({data['command']}): {data['runs'][0]['images']} held-out "
        f"digits, {data['runs'][0]['calibration_images']} calibration images, {data['cpu']}, "
        f"{data['date'][:10]}, torch {v['torch']}, torchao {v['torchao']}, onnxruntime {v['onnxruntime']}"
        + (f", openvino {v['openvino']}, nncf {v['nncf']}." if "openvino" in v else ".")
    )
    return head + "\n\n" + "\n".join(rows)


def parts_table() -> str:
    """The fp32 SE overhead taken apart (benchmarks/se_cost_parts.py)."""
    data = _load("cpu_se_cost_parts.json")
    env = data["environment"]
    rows = ["| optimize_for_inference model | ms | x resnet50 |", "|---|---|---|"]
    rows += [f"| {k} | {r['ms']:.1f} | {r['x_resnet50']:.3f} |" for k, r in data["rows"].items()]
    head = (
        f"`cpu_se_cost_parts.json` ({data['command']}): {env['cpu']}, 1 thread, batch 1, 224 px, "
        f"{data['rounds']} interleaved rounds, {env['date'][:10]}, torch {env['torch']}."
    )
    return head + "\n\n" + "\n".join(rows)


def _state(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def targets_table() -> str:
    """Issue 13's targets, each with its numbers and whether it holds, from the same files."""
    s = _samples(_load("cpu_deploy_backends_b1.json"))
    rows = ["| target | state | numbers |", "|---|---|---|"]
    int8 = {
        ref: _ratio(s, ref, "se_resnet50") for ref in ("int8:se_resnet50", "ort-int8[se=float]:se_resnet50")
    }
    rows.append(
        f"| int8 `se_resnet50`, batch 1, 1 thread: latency <= 0.5x fp32 eager | {_state(min(int8.values()) <= 0.5)} | "
        + ", ".join(f"{ref.split(':')[0]} {v:.3f}x" for ref, v in int8.items())
        + " |"
    )
    over = {
        "int8": _ratio(s, "int8:se_resnet50", "int8:resnet50"),
        "ort-int8 (SE int8)": _ratio(s, "ort-int8:se_resnet50", "ort-int8:resnet50"),
        "ort-int8, SE in float": _ratio(s, "ort-int8[se=float]:se_resnet50", "ort-int8:resnet50"),
    }
    rows.append(
        f"| int8 SE overhead <= 1.05x int8 `resnet50` | {_state(min(over.values()) <= 1.05)} | "
        + ", ".join(f"{k} {v:.3f}x" for k, v in over.items())
        + " |"
    )
    runs = _load("quantize_digits_se_resnet20.json")["runs"]
    worst_agree = min(r["agreement"] for r in runs)
    worst_change = max(abs(r["int8_top1_error"] - r["float_top1_error"]) for r in runs)
    rows.append(
        f"| digits SE-ResNet-20: int8 agreement >= 99%, error change <= 0.5 points | "
        f"{_state(worst_agree >= 99 and worst_change <= 0.5)} | worst of {len(runs)} runs: "
        f"{worst_agree:.2f}% agreement, {worst_change:.2f} points |"
    )
    fp32, timm = [], []
    for b in (1, 8):
        o = _samples(_load(f"cpu_deploy_se_overhead_b{b}.json"))
        fp32.append(
            (b, _ratio(o, "se_resnet50", "resnet50"), _ratio(o, "folded:se_resnet50", "folded:resnet50"))
        )
        timm.append((b, _ratio(o, "se_resnet50", "timm:legacy_seresnet50")))
    rows.append(
        f"| fp32 SE overhead <= 1.02x at batch 1 and 8 (eager and folded) | "
        f"{_state(all(e <= 1.02 and f <= 1.02 for _, e, f in fp32))} | "
        + "; ".join(f"batch {b}: eager {e:.3f}x, folded {f:.3f}x" for b, e, f in fp32)
        + " |"
    )
    rows.append(
        f"| fp32 `se_resnet50` faster than timm's `legacy_seresnet50` (same layout) | "
        f"{_state(all(r < 1 for _, r in timm))} | "
        + "; ".join(f"batch {b}: {r:.3f}x timm's latency" for b, r in timm)
        + " |"
    )
    return "\n".join(rows)


FP32 = {"": "PyTorch eager", "ort": "ONNX Runtime", "ov": "OpenVINO"}
INT8 = {  # bench prefix -> (name, the digits run of benchmarks/quantize_digits.sh: backend, SE precision)
    "int8": ("PT2E + Inductor", ("pt2e", "int8")),
    "ort-int8[se=float]": ("ONNX Runtime (QDQ), SE in float", ("ort", "float")),
    "ov-int8": ("OpenVINO + NNCF", ("openvino", "int8")),
}


def _ms(s, ref: str) -> float:
    return statistics.median(s[ref])


def _prefix(runtime: str, model: str) -> str:
    return f"{runtime}:{model}" if runtime else model


def runtimes_table() -> str:
    """Issue 24: every CPU runtime x precision, batch 1 and 8: latency, SE overhead, digits agreement."""
    runs = {(r["backend"], r["se"]): r for r in _load("quantize_digits_se_resnet20.json")["runs"]}
    files = {b: _load(f"cpu_runtimes_b{b}.json") for b in (1, 8)}
    s = {b: _samples(r) for b, r in files.items()}
    rows = [
        "| runtime | precision | se_resnet50 ms, batch 1 | SE overhead, batch 1 | se_resnet50 ms, batch 8 "
        "| SE overhead, batch 8 | digits SE-ResNet-20: agreement with fp32 |",
        "|---|---|---|---|---|---|---|",
    ]

    def cells(runtime):
        out = []
        for b in (1, 8):
            se, plain = _prefix(runtime, "se_resnet50"), _prefix(runtime, "resnet50")
            out += [f"{_ms(s[b], se):.1f}", f"{_ratio(s[b], se, plain):.3f}"]
        return " | ".join(out)

    for runtime, name in FP32.items():
        rows.append(f"| {name} | fp32 | {cells(runtime)} | (fp32: logits within 1e-4 of PyTorch) |")
    for runtime, (name, key) in INT8.items():
        r = runs.get(key)
        agree = f"{r['agreement']:.2f}%" if r else "-"
        rows.append(f"| {name} | int8 | {cells(runtime)} | {agree} |")
    took = {
        b: next(r.get("runtime") for r in files[b]["models"] if r["model"] == "auto:se_resnet50")
        for b in (1, 8)
    }
    rows.append(
        f"| `--runtime auto` (took {took[1]} at batch 1, {took[8]} at batch 8) | fp32 | {cells('auto')} | - |"
    )
    where = "; ".join(f"`cpu_runtimes_b{b}.json`: {_where(files[b])}" for b in (1, 8))
    v = files[1]["environment"]
    versions = ", ".join(f"{k} {v[k]}" for k in ("onnxruntime", "openvino", "nncf", "torchao") if v.get(k))
    return f"{where}; {versions} (benchmarks/cpu_runtimes.sh).\n\n" + "\n".join(rows)


def runtime_targets_table() -> str:
    """Issue 24's targets, each with its numbers and whether it holds."""
    rows = ["| target | state | numbers |", "|---|---|---|"]
    s = {b: _samples(_load(f"cpu_runtimes_b{b}.json")) for b in (1, 8)}
    int8 = {
        (name, b): _ratio(s[b], _prefix(rt, "se_resnet50"), _prefix(rt, "resnet50"))
        for rt, (name, _) in INT8.items()
        for b in (1, 8)
    }
    best = {b: min(v for (_, bb), v in int8.items() if bb == b) for b in (1, 8)}
    rows.append(
        f"| int8 SE overhead <= 1.05x the plain network in the same runtime (batch 1 and 8) | "
        f"{_state(all(v <= 1.05 for v in best.values()))} | best: "
        + ", ".join(
            f"batch {b} {min(int8, key=lambda k: int8[k] if k[1] == b else 9)[0]} {best[b]:.3f}x"
            for b in (1, 8)
        )
        + " |"
    )
    fastest = {b: min(FP32, key=lambda rt: _ms(s[b], _prefix(rt, "se_resnet50"))) for b in (1, 8)}
    fp32 = {
        b: _ratio(s[b], _prefix(fastest[b], "se_resnet50"), _prefix(fastest[b], "resnet50")) for b in (1, 8)
    }
    rows.append(
        f"| fp32 SE overhead <= 1.02x in the fastest fp32 runtime (batch 1 and 8) | "
        f"{_state(all(v <= 1.02 for v in fp32.values()))} | "
        + ", ".join(f"batch {b}: {FP32[fastest[b]]} {fp32[b]:.3f}x" for b in (1, 8))
        + " |"
    )
    auto = {b: _ratio(s[b], "auto:se_resnet50", _prefix(fastest[b], "se_resnet50")) for b in (1, 8)}
    rows.append(
        f"| `--runtime auto` latency <= 1.05x the fastest fp32 runtime's (se_resnet50) | "
        f"{_state(all(v <= 1.05 for v in auto.values()))} | "
        + ", ".join(f"batch {b}: {auto[b]:.3f}x {FP32[fastest[b]]}'s" for b in (1, 8))
        + " |"
    )
    runs = _load("quantize_digits_se_resnet20.json")["runs"]
    worst = min((r for r in runs if r["backend"] == "openvino"), key=lambda r: r["agreement"], default=None)
    if worst is not None:
        rows.append(
            f"| NNCF int8 of the digits SE-ResNet-20 agrees >= 99% with fp32 | {_state(worst['agreement'] >= 99)} | "
            f"worst of the openvino runs: {worst['agreement']:.2f}% |"
        )
    return "\n".join(rows)


PROFILED = {
    "ort": "ONNX Runtime fp32",
    "ov": "OpenVINO fp32",
    "ort-int8": "ONNX Runtime int8, SE in float",
    "ov-int8": "OpenVINO + NNCF int8",
}


def profile_table() -> str:
    """Issue 24: where the SE overhead goes, per runtime (benchmarks/profile_runtimes.py): each part's ms
    in se_resnet50 minus the same part in resnet50, summed node medians (the profilers' own clocks)."""
    result = _load("cpu_runtime_profile_b1.json")
    profiles, env, cfg = result["profiles"], result["environment"], result["config"]
    parts = list(next(iter(profiles.values()))["se_resnet50"]["parts_ms"])
    rows = [
        "| runtime | resnet50 ms | se_resnet50 ms | ratio | "
        + " | ".join(f"{p} (ms)" for p in parts)
        + " | squeeze + FCs, % of resnet50 | + scale, % |",
        "|---|---|---|---|" + "---|" * (len(parts) + 2),
    ]
    for rt, name in PROFILED.items():
        if rt not in profiles:
            continue
        plain, se = profiles[rt]["resnet50"], profiles[rt]["se_resnet50"]
        delta = {p: se["parts_ms"][p] - plain["parts_ms"][p] for p in parts}
        own = delta["SE squeeze"] + delta["SE FCs + gate"]
        rows.append(
            f"| {name} | {plain['total_ms']:.1f} | {se['total_ms']:.1f} | {se['total_ms'] / plain['total_ms']:.3f} | "
            + " | ".join(f"{d:+.2f}" for d in delta.values())
            + f" | {100 * own / plain['total_ms']:.1f} | {100 * (own + delta['SE scale']) / plain['total_ms']:.1f} |"
        )
    versions = ", ".join(f"{k} {env[k]}" for k in ("onnxruntime", "openvino", "nncf") if env.get(k))
    return (
        f"`cpu_runtime_profile_b1.json`: {env['cpu']}, {cfg['threads']} thread, batch {cfg['batch_size']}, "
        f"{cfg['size']} px, median of {cfg['rounds']} alternating rounds per node, {env['date'][:10]}, "
        f"torch {env['torch']}, {versions} (benchmarks/profile_runtimes.py). Each part: se_resnet50's ms "
        "minus resnet50's; ms and ratio are sums of node times (not wall time).\n\n" + "\n".join(rows)
    )


def main() -> None:
    print("\n\n".join(tables()))
    print("\n\n".join(runtime_tables()))


def tables() -> tuple[str, ...]:
    """Every table, in the order of the docs."""
    return targets_table(), backends_table(), overhead_table(), parts_table(), accuracy_table()


def runtime_tables() -> tuple[str, ...]:
    """Issue 24's tables (the docs' cpu-runtime-tables block)."""
    return runtime_targets_table(), runtimes_table(), profile_table()


if __name__ == "__main__":
    main()
