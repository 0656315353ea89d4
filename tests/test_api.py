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
