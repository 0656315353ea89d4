"""The public face: every advertised name resolves to what it names, whatever was imported before."""

import importlib
import importlib.util
import pkgutil

import senet


def test_every_public_name_resolves_to_a_function_or_class():
    for name in senet.__all__:
        obj = getattr(senet, name)
        assert callable(obj), f"senet.{name} is {obj!r}"


def test_no_module_is_named_like_a_public_function():
    """``senet.export`` is the function: no module of the package can shadow it once imported."""
    modules = {m.name for m in pkgutil.iter_modules(senet.__path__)}  # senet.<name>
    assert not modules & set(senet.__all__), modules & set(senet.__all__)
    for name in senet.__all__:
        assert importlib.util.find_spec(f"senet.{name}") is None, name


def test_each_entry_point_imports_on_its_own():
    """In a fresh interpreter (no import cycle hidden by what an earlier test imported): the modules behind
    the public functions, and a verb that goes through evaluation, engine and models."""
    import subprocess
    import sys

    snippets = [
        "import senet; senet.evaluate",
        "import senet.evaluation",
        "import senet.evaluation.evaluator",
        "import senet; senet.train",
        "import senet; senet.export, senet.bench, senet.excitations, senet.report, senet.ablate",
        "from senet.cli import main; raise SystemExit(main(['eval', '--model', 'resnet20_cifar', "
        "'--data', 'synthetic', '--workers', '0']))",
    ]
    procs = [
        subprocess.Popen([sys.executable, "-c", s], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for s in snippets
    ]
    for s, p in zip(snippets, procs):
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, (s, err.decode()[-2000:])
