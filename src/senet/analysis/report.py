"""One self-contained HTML page from a run, a study or an analysis directory (issue 5, item 4).

Everything is inline: figures as base64 ``data:`` URIs, tables from the CSV/JSON/markdown files the
training engine (summary.json, config.json, metrics.csv, curves.png), ``senet ablate`` (table_<n>.md/.csv/
.png) and ``senet excitations`` (excitations.json, summary.md, figures) write. No network, no scripts:
the page opens in any browser and can be attached to a paper draft.
"""

from __future__ import annotations

import base64
import csv
import html
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from ..core.io import check_output, read_json, write_text
from ..engine.rundir import RUN_FILES
from ..errors import SenetError, SenetTypeError

MAX_ROWS = 200
_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.9em}th,td{border:1px solid #bbb;
padding:.25em .6em;text-align:right}th{background:#eee}td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #ddd;margin:.4em 0}code{background:#f4f4f4;padding:0 .2em}
details{margin:.5em 0 1em}summary{cursor:pointer;font-weight:600}.meta{color:#666;font-size:.85em}"""


def kind_of(path: Path) -> str:
    """ "demo", "run" (engine output), "study" (ablation tables), "analysis" (excitations) or "directory"."""
    if (path / "demo.json").exists():
        return "demo"
    if (path / "excitations.json").exists():
        return "analysis"
    if any(path.glob("table_*.csv")):
        return "study"
    if (path / "summary.json").exists() or (path / "metrics.csv").exists():
        return "run"
    return "directory"


def report(directory, out=None, title: str | None = None) -> Path:
    """Write ``out`` (default ``<directory>/report.html``) and return its path."""
    if not isinstance(directory, str | os.PathLike):
        raise SenetTypeError(f"report needs a directory path, got {type(directory).__name__}")
    if out is not None:
        check_output(out, (".html",), keep=RUN_FILES)
    d = Path(directory)
    if not d.is_dir():
        raise SenetError(f"report: {str(d)!r} is not a directory (give a run, study or analysis directory)")
    kind = kind_of(d)
    body = _demo(d) if kind == "demo" else _section(d, level=1)
    for sub in _parts(d):
        inner = _section(sub, level=3)
        if inner:
            name = sub.relative_to(d).as_posix()
            body.append(
                f"<details><summary>{_e(kind_of(sub))}: {_e(name)}</summary>{''.join(inner)}</details>"
            )
    if not body:
        raise SenetError(
            f"report: nothing to show in {str(d)!r} (expected summary.json, metrics.csv, "
            "table_<n>.csv, excitations.json, *.md or *.png)"
        )
    title = title or f"senet {kind}: {d.resolve().name}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
        f"<p class='meta'>{_e(str(d.resolve()))} &middot; generated {stamp}</p>{''.join(body)}</body></html>"
    )
    target = d / "report.html" if out is None else check_output(out, (".html",), keep=RUN_FILES)
    write_text(target, page)
    return target


def _demo(d: Path) -> list[str]:
    """The demo's first screen: the comparison table (mean +- std over seeds), the verdict, the curves."""
    result = read_json(d / "demo.json")
    n = len(result["seeds"])
    head = ("model", f"test error % (mean +- std, {n} seeds)", "per seed", "top-5 %", "params", "GFLOPs")
    rows = [
        (
            r["model"],
            f"{r['top1_mean']:.2f} +- {r['top1_std']:.2f}",
            ", ".join(f"{e:.2f}" for e in r["top1_errors"]),
            f"{r['top5_mean']:.2f}",
            f"{r['params']:,}",
            f"{r['gflops']:.4f}",
        )
        for r in result["models"]
    ]
    c = result["comparison"]
    verdict = (
        f"<p>SE minus plain: <b>{c['difference']:+.2f}</b> points; spread (larger std over seeds) "
        f"{c['spread']:.2f}: {_e(c['verdict'])}.</p>"
    )
    figure = [image(d / "comparison.png")] if (d / "comparison.png").exists() else []
    return ["<h2>SE vs plain</h2>", _table(head, rows), verdict, *figure]


def _parts(d: Path) -> list[Path]:
    """Runs and analyses inside a directory, up to two levels down (a study's ``runs/<variant>``)."""
    marks = ("summary.json", "excitations.json", "table_*.csv")
    found = {p.parent for m in marks for p in (*d.glob(f"*/{m}"), *d.glob(f"*/*/{m}"))}
    return sorted(found)


def _section(d: Path, level: int) -> list[str]:
    """The HTML of one directory's files: markdown, JSON summaries, CSV tables, then figures."""
    parts: list[str] = []
    md_stems = {p.stem for p in d.glob("*.md")}
    for p in sorted(d.glob("*.md")):
        parts.append(markdown(p.read_text(encoding="utf-8", errors="replace"), level))
    for name in ("summary.json", "config.json"):
        if (d / name).exists():
            parts.append(f"<h{level + 1}>{name}</h{level + 1}>" + _json_table(d / name))
    if (d / "excitations.json").exists() and "summary" not in md_stems:
        parts.append(_excitation_table(d / "excitations.json"))
    for p in sorted(d.glob("*.csv")):
        if p.stem not in md_stems:
            parts.append(f"<h{level + 1}>{_e(p.name)}</h{level + 1}>" + csv_table(p))
    for p in sorted(d.glob("*.png")):
        parts.append(f"<figure>{image(p)}<figcaption class='meta'>{_e(p.name)}</figcaption></figure>")
    return parts


def image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<img alt='{_e(path.stem)}' src='data:image/png;base64,{data}'>"


def csv_table(path: Path) -> str:
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = list(csv.reader(f))
    if not rows:
        return "<p class='meta'>(empty)</p>"
    more = len(rows) - 1 - MAX_ROWS
    note = f"<p class='meta'>{more} more rows in {_e(path.name)}</p>" if more > 0 else ""
    return _table(rows[0], rows[1 : MAX_ROWS + 1]) + note


def _table(header, rows) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_inline(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _json_table(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:  # not JSON, or not UTF-8
        return f"<p class='meta'>{_e(path.name)}: not valid JSON ({_e(str(e))})</p>"
    if not isinstance(data, dict):
        return f"<pre>{_e(json.dumps(data, indent=1)[:4000])}</pre>"
    rows = [(k, v if not isinstance(v, dict | list) else json.dumps(v)[:300]) for k, v in data.items()]
    return _table(("key", "value"), rows)


def _excitation_table(path: Path) -> str:
    data = read_json(path)
    keys = ("channels", "specificity", "eta2", "saturation", "mean")
    rows = [(n, *(_fmt(b.get(k)) for k in keys)) for n, b in data.get("blocks", {}).items()]
    return "<h2>Excitation statistics</h2>" + _table(("block", *keys), rows)


def markdown(text: str, level: int = 1) -> str:
    """The markdown our tools write: headings, pipe tables, paragraphs, `code` and **bold**."""
    out, para, lines = [], [], text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            body = [r for r in block[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            out.append(_flush(para) + _table(block[0], body))
            para = []
            continue
        m = re.match(r"(#{1,6})\s+(.*)", line)
        if m:
            h = min(6, len(m[1]) + level - 1)
            out.append(_flush(para) + f"<h{h}>{_inline(m[2])}</h{h}>")
            para = []
        elif line:
            para.append(line)
        else:
            out.append(_flush(para))
            para = []
        i += 1
    out.append(_flush(para))
    return "".join(out)


def _flush(para: list[str]) -> str:
    return f"<p>{_inline(' '.join(para))}</p>" if para else ""


def _inline(text: str) -> str:
    t = _e(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", t)


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)
