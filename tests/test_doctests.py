"""Run the Examples sections of every public object with the doctest module.

The public objects are the names in ``statoptim.__all__`` and in each
subpackage's ``__all__``. Every public class and function must have a numpydoc
``Examples`` section (the test fails on a missing one), and every example in
it, and in the methods of a public class, must print what it says it prints.
The docs site (``docs/``) shows the same examples, so they are checked here on
every ``pytest`` run.
"""
import doctest
import importlib
import inspect
import warnings

import numpy as np
import pytest

SUBPACKAGES = ("quantile", "optim", "ssvd", "multiview", "datasets", "studies", "exceptions")
MODULES = ("statoptim",) + tuple(f"statoptim.{name}" for name in SUBPACKAGES)
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def public_objects():
    """``(qualified name, object)`` for every public class and function, once each."""
    seen = {}
    for modname in MODULES:
        module = importlib.import_module(modname)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
                seen.setdefault(id(obj), (f"{modname}.{name}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


def public_modules():
    """The package and its subpackages: their docstrings hold examples too."""
    return [importlib.import_module(name) for name in MODULES]


PUBLIC = public_objects()


def _run(name, obj, module):
    finder = doctest.DocTestFinder(recurse=inspect.isclass(obj))
    tests = [t for t in finder.find(obj, name, module=module, globs={}) if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in tests:
        with np.printoptions(legacy=False), warnings.catch_warnings():
            warnings.simplefilter("error")
            runner.run(test, out=lambda text: failures.append(text))
    return tests, runner


failures = []


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_public_object_has_examples(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert "\nExamples\n--------\n" in f"\n{doc}\n", f"{name} has no Examples section"


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_examples_run(name, obj):
    failures.clear()
    tests, runner = _run(name, obj, inspect.getmodule(obj))
    assert tests, f"{name}: no doctest examples found"
    assert runner.failures == 0, "".join(failures)


@pytest.mark.parametrize("module", public_modules(), ids=list(MODULES))
def test_module_docstring_examples_run(module):
    failures.clear()
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in finder.find(module, module.__name__, globs={}):
        with np.printoptions(legacy=False), warnings.catch_warnings():
            warnings.simplefilter("error")
            runner.run(test, out=lambda text: failures.append(text))
    assert runner.failures == 0, "".join(failures)


def test_the_runner_reports_a_wrong_output():
    """The harness itself: an example whose output differs is a failure."""

    def wrong():
        """
        Examples
        --------
        >>> 1 + 1
        3
        """

    failures.clear()
    _, runner = _run("wrong", wrong, None)
    assert runner.failures == 1
