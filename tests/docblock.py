"""Generated blocks in the docs: the text between two markers must be what the code produces now."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def check_block(doc: str, name: str, content: str) -> None:
    """Assert that ``doc`` (relative to the repository) holds ``content`` between ``<!-- name -->`` and
    ``<!-- /name -->``; with SENET_REGEN_DOCS=1 rewrite it first."""
    path = ROOT / doc
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    text = path.read_text()
    head, rest = text.split(start)
    _, tail = rest.split(end)
    wanted = f"{head}{start}\n{content}\n{end}{tail}"
    if os.environ.get("SENET_REGEN_DOCS"):
        path.write_text(wanted)
        text = wanted
    assert text == wanted, f"{doc}'s {name} is stale: SENET_REGEN_DOCS=1 pytest rewrites it"
