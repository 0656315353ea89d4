"""The package's layout is its architecture (docs/architecture.md): no import circle between modules, every
import between packages goes down the floors below, and the top level holds only the entry points."""

from pathlib import Path

import imports_graph as G
from docblock import check_block

# Floor by floor, bottom up: a package imports only packages on floors below its own (and itself).
FLOORS = [
    ("errors", "the exceptions every layer raises"),
    ("core layers", "files, devices, torchrun; the SE block"),
    ("hub data retrofit fast", "weight files and tags; data sets; add_se; fused inference paths"),
    ("models", "the networks, their registry, counting and feature maps"),
    ("runtimes", "ONNX Runtime, OpenVINO and .pt2 files: export, run, cards inside, --runtime auto"),
    ("evaluation", "evaluate, the multi-view protocol, predict"),
    ("engine", "training: recipes, config, loop, checkpoints, run directory"),
    ("deploy detection analysis", "export, int8, bench; Table 7; the paper's studies"),
    ("commands", "one module per CLI verb"),
    ("senet", "the public face: senet/__init__.py (names imported on first use)"),
    ("cli", "the command line: parses, finds the verb, prints errors as one line"),
    ("__main__", "python -m senet"),
]
FLOOR = {p: i for i, (names, _) in enumerate(FLOORS) for p in names.split()}
TOP_LEVEL = {"__init__.py", "__main__.py", "cli.py", "errors.py"}


def package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "senet"


def package_edges() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, targets in G.edges().items():
        for b in targets:
            if package(a) != package(b):
                out.setdefault(package(a), set()).add(package(b))
    return out


def test_no_import_circle():
    assert G.cycles(G.edges()) == []


def test_the_import_walker_sees_a_circle():
    """The check can fail: a made-up graph with a circle through three modules is found."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert G.cycles(graph) == [["a", "b", "c"]]


def test_every_import_between_packages_goes_down():
    edges = package_edges()
    unplaced = sorted({*edges, *(b for bs in edges.values() for b in bs)} - set(FLOOR))
    assert not unplaced, f"packages without a floor in FLOORS (and docs/architecture.md): {unplaced}"
    upward = [
        f"{m} -> {t}"
        for m, targets in sorted(G.edges().items())
        for t in sorted(targets)
        if package(m) != package(t) and FLOOR[package(t)] >= FLOOR[package(m)]
    ]
    assert not upward, "imports that break the floors of docs/architecture.md:\n" + "\n".join(upward)


def test_the_top_level_holds_only_entry_points_and_packages():
    root = G.SRC / "senet"
    files = {p.name for p in root.iterdir() if p.is_file() and p.suffix == ".py"}
    assert files == TOP_LEVEL, files - TOP_LEVEL
    packages = {p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(FLOOR), packages - set(FLOOR)


def picture() -> str:
    """The floors with what each package imports today (from the code)."""
    edges = package_edges()
    lines = ["```"]
    for i, (names, what) in reversed(list(enumerate(FLOORS))):
        lines.append(f"floor {i}  {names:<27} {what}")
        for p in names.split():
            if edges.get(p):
                lines.append(
                    f"{'':9}{p:>11} imports {', '.join(sorted(edges[p], key=lambda q: (-FLOOR[q], q)))}"
                )
    lines.append("```")
    return "\n".join(lines)


def test_the_architecture_page_shows_the_floors():
    check_block("docs/architecture.md", "floors", picture())
    text = Path(G.SRC.parent / "docs" / "architecture.md").read_text()
    for p in FLOOR:
        if p not in ("errors", "cli", "__main__", "senet"):
            assert f"`{p}/`" in text, f"docs/architecture.md says nothing of {p}/"
