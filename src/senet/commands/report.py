"""`senet report DIR`: one self-contained HTML page from a run, a study or an analysis directory."""

from __future__ import annotations

HELP = "turn a run, study (ablate) or analysis (excitations) directory into one self-contained HTML page"


def add_arguments(p):
    p.add_argument("directory", help="a run, study or analysis directory")
    p.add_argument("--out", help="the HTML file (default: DIRECTORY/report.html)")
    p.add_argument("--title", help="page title (default: the directory's kind and name)")


def run(args):
    from ..analysis.report import report

    path = report(args.directory, args.out, args.title)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB, self-contained)")
    return 0
