"""The public face: every advertised name resolves to what it names, whatever was imported before."""

import importlib

import senet


def test_every_public_name_resolves_to_a_function_or_class():
    for name in senet.__all__:
        importlib.import_module("senet.export")  # importing a same-named module must not shadow the function
        obj = getattr(senet, name)
        assert callable(obj), f"senet.{name} is {obj!r}"
