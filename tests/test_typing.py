"""Type hints on the public API (statoptim.__all__ and the subpackages' __all__).

Every public function and every public method of a public class has an annotation on each
parameter (except self/cls/*args/**kwargs) and a return annotation, and the annotations
resolve at runtime (``typing.get_type_hints``), so they are valid on Python 3.10+.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import typing

import pytest

PUBLIC_MODULES = [
    "statoptim",
    "statoptim.quantile",
    "statoptim.optim",
    "statoptim.ssvd",
    "statoptim.multiview",
    "statoptim.datasets",
]


def _public_callables():
    found = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if not inspect.isclass(obj):
                found.setdefault(id(obj), (f"{obj.__module__}.{obj.__qualname__}", obj))
                continue
            if issubclass(obj, BaseException):
                continue  # warnings and errors: their constructors are Exception's
            for attr, value in vars(obj).items():
                if attr.startswith("_") and attr != "__init__":
                    continue
                if isinstance(value, (staticmethod, classmethod)):
                    value = value.__func__
                if not inspect.isfunction(value):
                    continue  # properties, constants
                if attr == "__init__" and dataclasses.is_dataclass(obj):
                    continue  # generated from the annotated fields (test_dataclass_fields)
                found.setdefault(id(value), (f"{obj.__module__}.{obj.__qualname__}.{attr}",
                                             value))
    return sorted(found.values(), key=lambda item: item[0])


PUBLIC = _public_callables()


def test_public_api_found():
    names = {name.rsplit(".", 1)[-1] for name, _ in PUBLIC}
    # a sample of what must be covered, so the walk above cannot silently find nothing
    for expected in ("fit", "predict", "summary", "transform", "pinball_loss", "minimize",
                     "retrieve", "fetch_mnist", "__init__"):
        assert expected in names
    assert len(PUBLIC) >= 90


@pytest.mark.parametrize("func", [f for _, f in PUBLIC], ids=[n for n, _ in PUBLIC])
def test_signature_fully_annotated(func):
    sig = inspect.signature(func)
    missing = [p.name for p in sig.parameters.values()
               if p.name not in ("self", "cls")
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               and p.annotation is inspect.Parameter.empty]
    assert not missing, f"parameters without a type hint: {missing}"
    assert sig.return_annotation is not inspect.Signature.empty, "no return annotation"


@pytest.mark.parametrize("func", [f for _, f in PUBLIC], ids=[n for n, _ in PUBLIC])
def test_type_hints_resolve(func):
    hints = typing.get_type_hints(func)
    assert "return" in hints
    params = [p for p in inspect.signature(func).parameters.values()
              if p.name not in ("self", "cls")
              and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert all(p.name in hints for p in params)


def test_dataclass_fields():
    from statoptim.quantile import QuantileProcess

    hints = typing.get_type_hints(QuantileProcess)
    assert set(hints) == {f.name for f in dataclasses.fields(QuantileProcess)}


def test_py_typed_marker_installed():
    from importlib import resources

    assert resources.files("statoptim").joinpath("py.typed").is_file()
