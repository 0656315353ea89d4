"""The command line pinned: every verb with its flags, their choices and defaults, and the public names
of ``senet``. CLI verbs, flags and the library's public names are forever (like state_dict keys,
tests/test_golden.py): a refactor keeps each one. Regenerate after a deliberate addition with
``SENET_REGEN_GOLDEN=1 pytest tests/test_golden_cli.py`` and say why in the commit.
"""

import argparse
import json
import os
from pathlib import Path

import senet
from senet.cli import build_parser

GOLDEN = Path(__file__).parent / "golden" / "cli.json"


def surface() -> dict:
    """verb -> {flag or positional: {choices, default, nargs}} and the public names."""
    parser = build_parser()
    verbs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    out = {}
    for verb, sub in sorted(verbs.items()):
        flags = {}
        for a in sub._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            name = " ".join(a.option_strings) or a.dest
            flags[name] = {
                "choices": sorted(map(str, a.choices)) if a.choices else None,
                "default": repr(a.default),
                "nargs": a.nargs,
            }
        out[verb] = dict(sorted(flags.items()))
    return {"verbs": out, "public": sorted(senet.__all__)}


def test_every_verb_and_flag_is_kept():
    if os.environ.get("SENET_REGEN_GOLDEN"):
        GOLDEN.write_text(json.dumps(surface(), indent=1, sort_keys=True) + "\n")
    golden, now = json.loads(GOLDEN.read_text()), surface()
    assert sorted(golden["public"]) == now["public"], set(golden["public"]) ^ set(now["public"])
    assert sorted(golden["verbs"]) == sorted(now["verbs"])
    for verb, flags in golden["verbs"].items():
        assert flags == now["verbs"][verb], verb
