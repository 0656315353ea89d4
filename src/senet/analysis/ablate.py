"""The ablation runner (Sec. 6, Tables 10-16): each variant trains with the engine in its own run directory.

``ablate(13, model="se_resnet20_cifar", data="digits", epochs=1, out="runs/t13")`` trains every variant of
the table, then writes ``table_13.md``, ``table_13.csv`` and ``table_13.png`` (error vs. variant, params on
a second axis). A variant is finished only when the engine has written its ``summary.json`` (last, and
atomically); finished variants are skipped, interrupted ones resume from ``checkpoint_last.pt``
(``resume="auto"``), and variants shared by several tables (the standard SE block) train once.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..core.io import read_json, write_json, write_text
from ..errors import SenetError
from . import tables as T

COLUMNS = (
    "variant",
    "model",
    "options",
    "top1_error",
    "top5_error",
    "params",
    "gflops",
    "status",
    "paper_top1_error",
    "paper_top5_error",
    "paper_params_M",
    "paper_gflops",
    "run_dir",
)
_SETTINGS = ("model", "options", "data", "recipe", "epochs")  # what must match for a run to be reused
_FREE = ("device", "workers", "progress", "tensorboard", "max_steps")  # may change between runs


def ablate(
    table="all",
    model: str = "se_resnet50",
    data: str = "digits",
    recipe: str | None = None,
    epochs: int | None = None,
    out="runs/ablate",
    **options,
) -> dict[int, list[dict]]:
    """Run the variants of ``table`` (10..16, "10,13" or "all") and write their tables; returns the rows.

    ``options``: ``only`` (variant labels of one table), ``se_bias`` (default False, as the TPAMI
    ablations), and any :class:`senet.engine.TrainConfig` field (``max_batches``, ``batch_size``,
    ``device``, ``workers``, ``seed``, ...).
    """
    from ..engine.recipes import ablation_recipe

    numbers = T.parse_tables(table)
    recipe = recipe or ablation_recipe(data, model)
    only, se_bias = options.pop("only", None), options.pop("se_bias", False)
    if only and len(numbers) > 1:
        raise SenetError("only= picks variants of one table; give a single --table with it")
    se_model, plain_model, stages = _models(model)
    studies = []
    for n in numbers:
        rows, note = T.variants(n, stages)
        runs = [_plan(v, se_model, plain_model, se_bias) for v in T.only(rows, only)]
        studies.append((n, runs, note))
    num_classes = _num_classes(data)
    for n, runs, _ in studies:  # every knob checked (and counted) before anything trains
        _check_variants(n, runs, se_model, num_classes)
    out = Path(out)
    stopped = _train_all([r for _, runs, _ in studies for r in runs], out, data, recipe, epochs, options)
    result = {}
    for n, runs, note in studies:
        rows = [_row(r, out, paper=(se_model == T.PAPER_MODEL)) for r in runs]
        write_table(n, rows, out, _notes(note, model, data, recipe, epochs, se_bias, se_model))
        result[n] = rows
    if stopped:
        raise SenetError(f"the study stopped at {stopped}; run the same command again to resume it")
    return result


def _models(model: str) -> tuple[str, str, tuple[int, ...]]:
    """The SE model, its plain twin and its SE stages (from SE_<stage>_<block> names, built on meta)."""
    import torch

    from ..models.factory import create_model, model_info
    from .pruning import se_stages

    info = model_info(model)
    if not info.se:
        hint = f"; use its SE twin {info.twin}" if info.twin else ""
        raise SenetError(f"ablate needs an SE model, and {model} has no SE blocks{hint}")
    with torch.device("meta"):
        stages = se_stages(create_model(model))
    return model, info.twin, tuple(stages)


def _check_variants(n: int, runs: list[dict], se_model: str, num_classes: int) -> None:
    """Count every variant; one that the model cannot build fails the study with the fix in one line."""
    failed = {}
    for r in runs:
        try:
            r.update(_count(r["model"], r["options"], num_classes))
        except SenetError as e:
            failed[r["variant"]] = e
    if not failed:
        return
    label, error = next(iter(failed.items()))
    fits = [r for r in runs if r["variant"] not in failed]
    if not any(r["model"] == se_model for r in fits):  # no SE variant fits: the knob itself is missing
        raise SenetError(f"Table {n} does not apply to {se_model}: {error}")
    raise SenetError(
        f"Table {n}, variant {label}: {error}. Leave it out with --table {n} "
        f"--only {','.join(r['variant'] for r in fits)}"
    )


def _plan(v: T.Variant, se_model: str, plain_model: str, se_bias: bool) -> dict:
    options = {} if v.plain else {"bias": se_bias, **v.options}
    name = plain_model if v.plain else se_model
    return {
        "variant": v.label,
        "model": name,
        "options": options,
        "paper": v.paper,
        "slug": slug(name, options),
    }


def slug(model: str, options: dict) -> str:
    """The run directory of a (model, options) pair; defaults are omitted so equal variants share it."""
    from ..layers.se import SEConfig

    default = SEConfig()
    parts = [model]
    for k in sorted(options):
        v = options[k]
        if getattr(default, k, object()) == v:
            continue
        parts.append(f"{k}-{'-'.join(map(str, v)) if isinstance(v, tuple | list) else v}")
    return "_".join(parts)


def _num_classes(data: str) -> int:
    from ._data import eval_set

    return len(eval_set(data)[1])


def _count(model: str, options: dict, num_classes: int) -> dict:
    from ..models.counting import complexity

    c = complexity(model, num_classes=num_classes, **options)
    return {"params": c.params, "gflops": round(c.gflops, 4)}


def _train_all(runs: list[dict], out: Path, data, recipe, epochs, options) -> str | None:
    """Train each distinct run that has not finished; returns the run that stopped early, if any."""
    from ..engine import TrainConfig, train

    configs = {}  # every variant's configuration checked before any directory is claimed
    for r in runs:
        fields = {"model": r["model"], "data": data, "recipe": recipe, "epochs": epochs}
        fields |= {"out": str(out / "runs" / r["slug"]), "resume": "auto", "model_options": r["options"]}
        configs.setdefault(r["slug"], (r, TrainConfig.from_dict({**fields, **options})))
    for slug, (r, cfg) in configs.items():
        run_dir = out / "runs" / slug
        defaults = TrainConfig(model=r["model"])  # a setting given at its default is the same study
        settings = {
            "model": r["model"],
            "options": r["options"],
            "data": data,
            "recipe": recipe,
            "epochs": epochs,
            **{k: v for k, v in options.items() if k not in _FREE and v != getattr(defaults, k, object())},
        }
        _claim(run_dir, settings)
        if finished(run_dir):
            print(f"senet ablate: {slug} finished earlier, skipped")
            continue
        print(f"senet ablate: training {slug} -> {run_dir}")
        summary = train(cfg)
        if summary.get("status") != "finished" or not finished(run_dir):
            return slug
    return None


def _claim(run_dir: Path, settings: dict) -> None:
    """Record the variant's settings; a run directory made with other settings is never reused."""
    path = run_dir / "variant.json"
    settings = json.loads(json.dumps(settings))
    if path.exists():
        old = read_json(path)
        if old != settings:
            diff = sorted(k for k in {*old, *settings} if old.get(k) != settings.get(k))
            raise SenetError(
                f"{run_dir} was trained with other settings ({', '.join(diff)} differ); "
                "choose another --out or remove that directory"
            )
        return
    write_json(settings, path)


def finished(run_dir: Path) -> bool:
    """The engine writes summary.json last and atomically: its presence (status finished) marks a run done."""
    path = Path(run_dir) / "summary.json"
    if not path.exists():
        return False
    try:
        return json.loads(path.read_text()).get("status") == "finished"
    except json.JSONDecodeError:
        return False


def _row(r: dict, out: Path, paper: bool) -> dict:
    run_dir = out / "runs" / r["slug"]
    done = finished(run_dir)
    s = read_json(run_dir / "summary.json") if done else {}
    p = r["paper"] if paper and r["paper"] else (None,) * 4
    return {
        "variant": r["variant"],
        "model": r["model"],
        "options": json.dumps(r["options"], sort_keys=True),
        "top1_error": _r(s.get("top1_error")),
        "top5_error": _r(s.get("top5_error")),
        "params": r["params"],
        "gflops": r["gflops"],
        "status": "finished" if done else "unfinished",
        "paper_top1_error": p[0],
        "paper_top5_error": p[1],
        "paper_params_M": p[2],
        "paper_gflops": p[3],
        "run_dir": str(run_dir.relative_to(out)),
    }


def _r(v):
    return None if v is None else round(float(v), 2)


def _notes(note, model, data, recipe, epochs, se_bias, se_model) -> list[str]:
    from ..engine.recipes import get_recipe

    epochs = epochs or get_recipe(recipe).epochs
    lines = [
        f"Model {model} on {data} (recipe {recipe}, {epochs} epochs), "
        f"SE biases {'on' if se_bias else 'off (as the TPAMI ablations)'}. Errors are top-1/top-5 % on "
        "the validation split; params for this data's classes, GFLOPs (multiply-adds) at the model's "
        "native resolution, by `senet.complexity`."
    ]
    if note:
        lines.append(note)
    if se_model == T.PAPER_MODEL:
        lines.append("Paper columns: SE-ResNet-50 on ImageNet (PAPER.md section 7).")
    else:
        lines.append("The paper's numbers are for se_resnet50 on ImageNet; not shown for this model.")
    return lines


def write_table(n: int, rows: list[dict], out: Path, notes: list[str]) -> None:
    """table_<n>.csv (every column), table_<n>.md (the readable subset) and table_<n>.png."""
    from . import plots

    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_text(out / f"table_{n}.csv", buf.getvalue())
    paper = any(r["paper_top1_error"] is not None for r in rows)
    head = ["variant", "top-1 err %", "top-5 err %", "params", "GFLOPs", "status"]
    head += ["paper top-1", "paper top-5", "paper params (M)"] if paper else []
    lines = [
        f"# {T.TITLES[n]}",
        "",
        *[f"{x}\n" for x in notes],
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [
            r["variant"],
            _f(r["top1_error"]),
            _f(r["top5_error"]),
            f"{r['params']:,}",
            f"{r['gflops']:.4f}",
            r["status"],
        ]
        if paper:
            cells += [_f(r["paper_top1_error"]), _f(r["paper_top5_error"]), _f(r["paper_params_M"])]
        lines.append("| " + " | ".join(cells) + " |")
    write_text(out / f"table_{n}.md", "\n".join(lines) + "\n")
    plots.ablation(rows, T.TITLES[n], out / f"table_{n}.png")


def _f(v) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
