"""The command line: a thin layer of verbs over library functions.

Each verb lives in ``senet/commands/<verb>.py`` and defines ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``. Errors a user can cause print one line and exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import pkgutil
import sys

from . import commands
from .errors import SenetError


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block): ``senet VERB: error: ... (see --help)``."""

    def error(self, message):
        raise SenetError(f"{message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="senet", description="Squeeze-and-Excitation Networks")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"senet {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        verb = getattr(module, "VERB", mod.name)
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb. Every error a user can cause is one line on stderr and exit 2; Ctrl-C is exit 130."""
    verb = "senet"
    try:
        parser = build_parser()  # imports torch: Ctrl-C may land here too
        args = parser.parse_args(argv)
        verb = f"senet {args.verb}"
        return int(args._run(args) or 0)
    except SenetError as e:
        print(f"{verb}: error: {_one_line(str(e))}", file=sys.stderr)
    except BrokenPipeError:  # `senet list | head`: the reader has what it wanted
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return 0
    except OSError as e:
        print(f"{verb}: error: {_os_error(e)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"{verb}: interrupted", file=sys.stderr)
        return 130
    return 2


def _os_error(e: OSError) -> str:
    """A file-system error as one line: what failed, on which path, and what to do."""
    where = f" ({e.filename})" if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"no space left on the device{where}; free some space or choose another location"
    if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not allowed to write{where}: {e.strerror}; choose a location you can write to"
    text = e.strerror or str(e) or type(e).__name__
    return _one_line(f"{text}{where}")


def _one_line(message: str) -> str:
    """An error raised in a DataLoader worker comes back with the worker's traceback around it
    ("Caught DataError in DataLoader worker process 0. Original Traceback ..."): keep the error itself."""
    if "Original Traceback" not in message:
        return message
    last = [line for line in message.strip().splitlines() if line.strip()][-1]
    kind, sep, text = last.partition(": ")  # "senet.errors.DataError: <message>"
    return text if sep and kind.endswith("Error") else last
