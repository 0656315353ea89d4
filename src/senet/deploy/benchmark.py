"""Side-by-side speed of several models, timed in one process and interleaved round by round.

A shared or throttling machine drifts; timing model A for a minute and then model B measures the drift
as much as the models. Here every round times one step of each model in turn (the starting model
rotates), and each model's ratio to the first is the median of the per-round ratios, so drift cancels.
The question it answers is the paper's (Sec. 9, PAPER.md): what does an SE block cost in time,
beside the 0.26% of multiply-adds it adds to a ResNet-50?

Models are senet names (with options: ``se_resnet50[layout=torchvision]``), or ``timm:NAME`` / ``torchvision:NAME`` for reference implementations.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

import torch
import torch.nn.functional as F
from torch import nn

from ..core.runtime import autocast, check_amp, cpu_model, resolve_device
from ..errors import SenetError

MODES = ("infer", "train")


@dataclass(frozen=True)
class BenchConfig:
    """What to time; ``iters`` is the number of interleaved rounds (one timed step per model each)."""

    device: str = "cpu"
    mode: str = "infer"
    batch_size: int = 1
    size: int = 224
    amp: str | None = None  # "bf16" | "fp16" | None (float32)
    channels_last: bool = False
    compile: bool = False
    optimize: bool = False  # inference: senet.optimize_for_inference (BN folding) on every model
    warmup: int = 3
    iters: int = 20
    threads: int | None = None  # torch CPU threads; None: leave torch's setting
    num_classes: int = 1000
    extra: dict = field(default_factory=dict)

    def validate(self) -> BenchConfig:
        if self.mode not in MODES:
            raise SenetError(f"mode={self.mode!r} is not allowed; choose one of {MODES}")
        check_amp(self.amp)
        resolve_device(self.device)
        for name, low in (("iters", 2), ("warmup", 0), ("batch_size", 1), ("size", 1), ("num_classes", 1)):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < low:
                raise SenetError(f"{name} must be an integer >= {low}, got {v!r}")
        t = self.threads
        if t is not None and (not isinstance(t, int) or isinstance(t, bool) or t < 1):
            raise SenetError(f"threads must be a positive integer, got {t!r}")
        if self.optimize and self.mode == "train":
            raise SenetError("optimize applies to inference only (it folds BN); drop it or use mode='infer'")
        return self


def split_models(text: str) -> list[str]:
    """``"a,b[layout=torchvision,reduction=8],timm:c"`` -> the three references (commas in [] stay)."""
    refs, depth, word = [], 0, ""
    for ch in text:
        depth += {"[": 1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            refs.append(word)
            word = ""
        else:
            word += ch
    return [r.strip() for r in [*refs, word] if r.strip()]


def _options(ref: str) -> tuple[str, dict]:
    name, _, rest = ref.partition("[")
    opts = {}
    for item in filter(None, rest.rstrip("]").split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise SenetError(f"{ref}: options go as NAME[key=value,...]")
        opts[key.strip()] = int(value) if value.strip().isdigit() else value.strip()
    return name, opts


def load_model(ref: str, num_classes: int = 1000) -> nn.Module:
    """A senet model by name (options as ``NAME[key=value,...]``), or ``timm:NAME`` / ``torchvision:NAME``;
    ``fused:REF`` is REF with its residual units fused (``senet.fast.fuse_residual_steps``), so a table can
    time the plain forward and the fused one side by side, in training too.

    Random weights, nothing is downloaded.
    """
    if ref.startswith("fused:"):
        from ..fast import fuse_residual_steps

        model = load_model(ref[len("fused:") :], num_classes)
        if not fuse_residual_steps(model):
            raise SenetError(f"{ref}: no residual unit of this model can be fused")
        return model
    ref, options = _options(ref)
    source, _, name = ref.rpartition(":")
    if source == "timm":
        try:
            import timm
        except ImportError:
            raise SenetError(f"{ref}: timm is not installed (pip install timm)") from None
        try:
            return timm.create_model(name, pretrained=False, num_classes=num_classes, **options)
        except RuntimeError as e:  # timm: "Unknown model (...)"
            raise SenetError(f"{ref}: {e}") from None
    if source == "torchvision" and "add_se" in options:  # senet's registry inserts the SE blocks
        from ..models.factory import create_model

        return create_model(ref, num_classes=num_classes, **options)
    if source == "torchvision":
        import torchvision

        try:
            return torchvision.models.get_model(name, weights=None, num_classes=num_classes, **options)
        except ValueError as e:
            raise SenetError(f"{ref}: {e}") from None
    if source:
        raise SenetError(f"{ref}: unknown source {source!r}; use a senet name, timm:NAME or torchvision:NAME")
    from ..models.factory import create_model

    return create_model(name, num_classes=num_classes, **options)


RUNTIMES = ("compiled", "folded", "bf16", "int8", "ort", "ort-int8", "ov", "ov-int8", "auto")
# another runtime than PyTorch's: inference on the CPU, float32 input
DEPLOYED = ("int8", "ort", "ort-int8", "ov", "ov-int8", "auto")
QUANTIZED = {"int8": "pt2e", "ort-int8": "ort", "ov-int8": "openvino"}


def split_runtime(ref: str) -> tuple[list[tuple[str, dict]], str]:
    """``"int8[se=float]:se_resnet50"`` -> ([("int8", {"se": "float"})], "se_resnet50"): the runtime
    prefixes (:data:`RUNTIMES`) in the order written, and the model reference after them."""
    chain = []
    while True:
        head, sep, rest = ref.partition(":")
        name, options = _options(head) if sep else (head, {})
        if not sep or name not in RUNTIMES:
            return chain, ref
        chain.append((name, options))
        ref = rest


def _check_chain(ref: str, chain: list[tuple[str, dict]], cfg: BenchConfig) -> tuple[str, dict] | None:
    """Refuse runtime prefixes that do not combine; return the deployed runtime (int8, ort, ort-int8, ov,
    ov-int8, auto) and its options, if one is asked for."""
    names = [n for n, _ in chain]
    if len(set(names)) != len(names):
        raise SenetError(f"{ref}: a runtime prefix is given twice")
    if cfg.mode == "train" and set(names) - {"compiled"}:
        raise SenetError(f"{ref}: {', '.join(sorted(set(names) - {'compiled'}))} time inference only")
    for name, options in chain:
        if options and name not in QUANTIZED:
            raise SenetError(f"{ref}: {name} takes no options")
    deploy = [(n, o) for n, o in chain if n in DEPLOYED]
    if not deploy:
        return None
    name, options = deploy[0]
    if len(deploy) > 1 or set(names) - {name, "folded"}:
        raise SenetError(f"{ref}: {name} takes no other runtime prefix than folded")
    if torch.device(cfg.device).type != "cpu" or cfg.amp or cfg.channels_last or cfg.compile:
        raise SenetError(
            f"{ref}: {name} runs on the CPU in float32 input, without --amp/--channels-last/--compile"
        )
    unknown = set(options) - {"se"}
    if unknown:
        raise SenetError(f"{ref}: unknown option {sorted(unknown)[0]!r}; {name} takes se=int8|float")
    return name, options


def _deployed(model: nn.Module, name: str, options: dict, cfg: BenchConfig):
    """``model`` under ONNX Runtime (``ort``), OpenVINO (``ov``, float32), the fastest of torch, ort and ov
    as ``--runtime auto`` chooses (``auto``, measured now), or quantized (``int8``: PT2E, ``ort-int8``,
    ``ov-int8``: NNCF), calibrated on 4 batches of random images: the timing does not depend on what the
    ranges are."""
    from . import quantize as Q

    if name == "ort":
        return Q.onnx_runtime(model, cfg.size, cfg.threads)
    if name in ("ov", "auto"):
        from ..runtimes.deployed import to_runtime

        return to_runtime(model, "openvino" if name == "ov" else name, cfg.size, cfg.threads, cfg.batch_size)
    g = torch.Generator().manual_seed(0)
    calibration = [torch.randn(cfg.batch_size, 3, cfg.size, cfg.size, generator=g) for _ in range(4)]
    backend = QUANTIZED[name]
    return Q.quantize(model, calibration, backend=backend, se=options.get("se", "int8"), threads=cfg.threads)


class _Runner:
    """One model, ready to run one step (forward, or forward + backward + SGD step) on fixed data.

    A reference may start with runtime prefixes (:data:`RUNTIMES`): ``compiled:``, ``folded:``, ``bf16:``
    (this model only), ``int8:``, ``ort-int8:`` and ``ov-int8:`` (calibrated on 4 batches of random images:
    the timing does not depend on what the ranges are), ``ort:``, ``ov:`` (OpenVINO, float32) and ``auto:``
    (what ``--runtime auto`` takes). Those run inference only.
    """

    def __init__(self, ref: str, cfg: BenchConfig):
        torch.manual_seed(0)
        chain, model_ref = split_runtime(ref)
        names = [n for n, _ in chain]
        deploy = _check_chain(ref, chain, cfg)  # refused before a model is built
        model = load_model(model_ref, cfg.num_classes)
        smallest = getattr(model, "default_cfg", {}).get("min_input_size", 1)
        if cfg.size < smallest:  # nothing left to convolve: the timing would be of padding
            raise SenetError(
                f"size {cfg.size} is below {model_ref}'s smallest input, {smallest} px; give --size {smallest} or more"
            )
        self.ref, self.params = ref, sum(p.numel() for p in model.parameters())
        model.train(cfg.mode == "train")
        self.amp = "bf16" if "bf16" in names else cfg.amp
        if cfg.optimize or "folded" in names:
            from ..fast import optimize_for_inference

            model = optimize_for_inference(model, inplace=True)
        fmt = torch.channels_last if cfg.channels_last else torch.contiguous_format
        model = model.to(cfg.device, memory_format=fmt)
        self.x = torch.randn(cfg.batch_size, 3, cfg.size, cfg.size, device=cfg.device)
        self.x = self.x.contiguous(memory_format=fmt)
        self.y = torch.randint(0, cfg.num_classes, (cfg.batch_size,), device=cfg.device)
        if deploy:
            model = _deployed(model.eval(), *deploy, cfg)
        elif cfg.compile or "compiled" in names:
            model = torch.compile(model)
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=1e-6, momentum=0.9) if cfg.mode == "train" else None
        self.cfg, self.ms, self.cpu_ms = cfg, [], []

    def _autocast(self):
        return autocast(torch.device(self.cfg.device).type, self.amp)

    def step(self) -> None:
        if self.opt is None:
            with torch.inference_mode(), self._autocast():
                self.model(self.x)
            return
        with self._autocast():
            loss = F.cross_entropy(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def timed_step(self) -> tuple[float, float]:
        """Wall-clock ms, and the process's CPU ms (on a shared machine, time descheduled is not counted)."""
        sync = torch.cuda.synchronize if torch.device(self.cfg.device).type == "cuda" else (lambda: None)
        sync()
        start, cpu = time.perf_counter(), time.process_time()
        self.step()
        sync()
        return (time.perf_counter() - start) * 1e3, (time.process_time() - cpu) * 1e3


def bench(models: list[str] | str, config: BenchConfig | None = None, **options) -> dict:
    """Time ``models`` interleaved round by round; returns config, environment and one row per model.

    Each row has ``ms`` and ``images_per_s`` (median, q1, q3, min, max over rounds), ``ratio`` (its
    images/s over the first model's: the median of per-round ratios, with ``ratio_q1``/``ratio_q3``)
    and ``latency_ratio`` (ms over the first's, likewise); ``cpu_ms`` and ``cpu_latency_ratio`` are the
    same for the process's CPU time (on a shared CPU, the time the process was descheduled drops out; with
    CUDA it is host time only). Options are :class:`BenchConfig`'s fields.
    """
    if isinstance(models, str):
        models = split_models(models)
    if not models:
        raise SenetError("no models to benchmark; give at least one name")
    cfg = (config or BenchConfig(**options)).validate()
    threads = torch.get_num_threads()
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    try:
        return _run(models, cfg)
    finally:
        torch.set_num_threads(threads)


def _run(models: list[str], cfg: BenchConfig) -> dict:
    runners = [_Runner(ref, cfg) for ref in models]
    for runner in runners:
        for _ in range(cfg.warmup):
            runner.timed_step()
    for r in range(cfg.iters):  # rotate the starting model so no model always runs first
        for runner in runners[r % len(runners) :] + runners[: r % len(runners)]:
            wall, cpu = runner.timed_step()
            runner.ms.append(wall)
            runner.cpu_ms.append(cpu)
    return {
        "config": _config_dict(cfg),
        "environment": environment(cfg.device),
        "models": [_row(run, runners[0], cfg.batch_size) for run in runners],
    }


def _config_dict(cfg: BenchConfig) -> dict:
    d = asdict(cfg)
    d.pop("extra")
    d["threads"] = torch.get_num_threads()
    return {**d, **cfg.extra}


def _summary(values: list[float]) -> dict:
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"median": statistics.median(values), "q1": q1, "q3": q3, "min": min(values), "max": max(values)}


def _row(run: _Runner, first: _Runner, batch: int) -> dict:
    ratios = [a / b for a, b in zip(first.ms, run.ms)]  # images/s ratio = inverse of the ms ratio
    ratio = _summary(ratios)
    return {
        "model": run.ref,
        "params": run.params,
        "ms": _summary(run.ms),
        "images_per_s": _summary([batch * 1e3 / t for t in run.ms]),
        "ratio": ratio["median"],
        "ratio_q1": ratio["q1"],
        "ratio_q3": ratio["q3"],
        "latency_ratio": statistics.median([b / a for a, b in zip(first.ms, run.ms)]),
        "cpu_ms": _summary(run.cpu_ms),
        "cpu_latency_ratio": statistics.median([b / a for a, b in zip(first.cpu_ms, run.cpu_ms)]),
        "samples_ms": run.ms,
        **({"runtime": run.model.runtime} if run.ref.split(":")[0] == "auto" else {}),  # what auto took
    }


def environment(device: str = "cpu") -> dict:
    """Where and when: device model, versions and the date, for the committed results."""
    env = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "device": cpu_model(),
    }
    if torch.device(device).type == "cuda":
        env["device"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    with contextlib.suppress(ImportError):
        import timm

        env["timm"] = timm.__version__
    import importlib.metadata as md

    for package in ("onnxruntime", "openvino", "nncf", "torchao"):  # the runtimes a row may use
        with contextlib.suppress(md.PackageNotFoundError):
            env[package] = md.version(package)
    return env


def format_table(result: dict) -> str:
    """The rows as an aligned text table (median [q1-q3]) with the ratio to the first model."""
    cfg = result["config"]
    head = (
        f"{cfg['mode']} on {result['environment']['device']} ({cfg['device']}, {cfg['threads']} threads), "
        f"batch {cfg['batch_size']}, {cfg['size']}px, {cfg['amp'] or 'fp32'}"
        f"{', channels-last' if cfg['channels_last'] else ''}{', compiled' if cfg['compile'] else ''}"
        f"{', optimized' if cfg['optimize'] else ''}; {cfg['iters']} interleaved rounds"
    )
    cols = (
        "model",
        "ms/batch [IQR]",
        "images/s [IQR]",
        "x first (img/s)",
        "latency x first",
        "cpu-time x first",
    )
    rows = []
    for r in result["models"]:
        ms, ips = r["ms"], r["images_per_s"]
        rows.append(
            (
                r["model"],
                f"{ms['median']:.2f} [{ms['q1']:.2f}-{ms['q3']:.2f}]",
                f"{ips['median']:.1f} [{ips['q1']:.1f}-{ips['q3']:.1f}]",
                f"{r['ratio']:.3f} [{r['ratio_q1']:.3f}-{r['ratio_q3']:.3f}]",
                f"{r['latency_ratio']:.3f}",
                f"{r['cpu_latency_ratio']:.3f}",
            )
        )
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    lines = [head, "  ".join(c.ljust(w) for c, w in zip(cols, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    return "\n".join(lines)
