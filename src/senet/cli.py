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
import signal
import sys
import threading

from . import commands
from .errors import SenetError


class _UsageError(SenetError):
    """An error of the command line itself; ``prog`` is the verb it belongs to (``senet eval``)."""

    def __init__(self, message: str, prog: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block): ``senet VERB: error: ... (see --help)``.

    An option the verb does not have is named with the verb, the verb's close options (a misspelling) and
    the other verbs that have it (``senet eval --epochs``: ``senet train`` has it)."""

    verbs: dict[str, argparse.ArgumentParser]

    def error(self, message):
        raise _UsageError(f"{message} (see `{self.prog} --help`)", self.prog)

    def parse_args(self, args=None, namespace=None):
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            verb = self.verbs.get(getattr(parsed, "verb", None) or "")
            if verb is None:
                self.error(f"unrecognized arguments: {' '.join(extras)}")
            unknown = next((a for a in extras if a.startswith("-") and len(a) > 1), None)
            if unknown is None:
                verb.error(f"unrecognized arguments: {' '.join(extras)}")
            raise _UsageError(self._unknown_option(verb, unknown.split("=", 1)[0]), verb.prog)
        return parsed

    def _unknown_option(self, verb: argparse.ArgumentParser, option: str) -> str:
        import difflib

        own = {o.lstrip("-"): o for a in verb._actions for o in a.option_strings}
        close = difflib.get_close_matches(option.lstrip("-"), own, n=1, cutoff=0.8)
        others = [
            name
            for name, p in self.verbs.items()
            if p is not verb and any(option in a.option_strings for a in p._actions)
        ]
        text = f"{verb.prog} has no option {option}"
        if close:
            text += f"; did you mean {own[close[0]]}?"
        if others:
            names = [f"`senet {n}`" for n in others]
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
            text += f" ({listed} {'has' if len(names) == 1 else 'have'} it; see `{verb.prog} --help`)"
        else:
            text += f" (see `{verb.prog} --help`)"
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="senet", description="Squeeze-and-Excitation Networks")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"senet {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    parser.verbs = {}
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        verb = getattr(module, "VERB", mod.name)
        p = sub.add_parser(verb, help=module.HELP, description=module.HELP)
        parser.verbs[verb] = p
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one verb. Every error a user can cause is one line on stderr and exit 2; Ctrl-C is exit 130."""
    verb = "senet"
    _honour_ctrl_c()
    try:
        parser = build_parser()  # imports torch: Ctrl-C may land here too
        args = parser.parse_args(argv)
        verb = f"senet {args.verb}"
        return int(args._run(args) or 0)
    except SenetError as e:
        verb = getattr(e, "prog", verb)  # an error of the command line names its verb
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


def _honour_ctrl_c() -> None:
    """A process that starts with SIGINT ignored (a script's background job) would lose a Ctrl-C or
    ``kill -INT`` sent while torch and the verb load: take it as Ctrl-C (exit 130) from the start, as
    training does once it runs (``senet.engine.state.stop_on_signals``). Only the main thread can."""
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        signal.signal(signal.SIGINT, signal.default_int_handler)


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
