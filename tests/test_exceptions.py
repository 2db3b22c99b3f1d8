"""The package's warning classes (``statoptim.exceptions``).

Every ``warnings.warn`` call in the package names a category that is a
:class:`statoptim.exceptions.StatoptimWarning` (checked on the source, so a new
call with a plain ``UserWarning`` fails here), the classes keep the categories
they had (``UserWarning``, ``RuntimeWarning``, scikit-learn's
``ConvergenceWarning`` and ``UndefinedMetricWarning``), and the old import paths
give the same objects.
"""
import ast
import importlib
import inspect
import pathlib
import warnings

import numpy as np
import pytest
import sklearn.exceptions

import statoptim
from statoptim import exceptions

SRC = pathlib.Path(statoptim.__file__).parent
# Calls that re-issue a warning recorded elsewhere under its own category.
REISSUED = {("quantile/_censored_inference.py", "category"),
            ("studies/ssvd_thresholds.py", "w.category")}


def _warn_calls():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "warn"
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "warnings"):
                cat = node.args[1] if len(node.args) > 1 else next(
                    (k.value for k in node.keywords if k.arg == "category"), None)
                yield rel, node.lineno, None if cat is None else ast.unparse(cat)


CALLS = list(_warn_calls())


def test_the_scan_finds_the_calls():
    assert len(CALLS) >= 30


@pytest.mark.parametrize("rel, line, category", CALLS,
                         ids=[f"{r}:{n}" for r, n, _ in CALLS])
def test_every_warning_is_a_statoptim_warning(rel, line, category):
    assert category is not None, f"{rel}:{line}: warnings.warn without a category"
    if (rel, category) in REISSUED:
        return
    module = importlib.import_module("statoptim." + rel[:-3].replace("/", "."))
    cls = eval(category, vars(module))  # a name or attribute of the module's globals
    assert inspect.isclass(cls) and issubclass(cls, exceptions.StatoptimWarning), (
        f"{rel}:{line}: category {category} is not a statoptim.exceptions.StatoptimWarning")


def test_hierarchy():
    e = exceptions
    for name in e.__all__:
        assert issubclass(getattr(e, name), e.StatoptimWarning)
        assert issubclass(getattr(e, name), UserWarning)
    assert issubclass(e.ConvergenceWarning, sklearn.exceptions.ConvergenceWarning)
    assert issubclass(e.UndefinedMetricWarning, sklearn.exceptions.UndefinedMetricWarning)
    for name in ("SeparationWarning", "WeakComponentWarning"):
        assert issubclass(getattr(e, name), e.ConvergenceWarning)
    assert issubclass(e.BootstrapWarning, RuntimeWarning)


@pytest.mark.parametrize("path, name", [
    ("statoptim", "DependentCensoringWarning"),
    ("statoptim.quantile", "DependentCensoringWarning"),
    ("statoptim.optim", "SeparationWarning"),
    ("statoptim.ssvd", "WeakComponentWarning"),
    ("statoptim.multiview", "MixingCollapseWarning"),
    ("statoptim.multiview", "RedundantRankWarning"),
    ("statoptim.multiview", "ZeroScoreWarning"),
])
def test_old_import_paths_are_the_same_classes(path, name):
    assert getattr(importlib.import_module(path), name) is getattr(exceptions, name)


def test_one_filter_silences_the_package():
    from statoptim import SparseSVD

    X = np.random.default_rng(0).standard_normal((40, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", exceptions.StatoptimWarning)
        SparseSVD(1, max_iter=1, random_state=0).fit(X)  # would warn: max_iter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SparseSVD(1, max_iter=1, random_state=0).fit(X)
    assert any(issubclass(w.category, exceptions.ConvergenceWarning)
               and "max_iter=1" in str(w.message) for w in caught)


def test_grid_spacing_is_an_approximation_warning():
    from statoptim import kernel_propensity

    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 3))
    complete = rng.random(3000) < 0.5
    with pytest.warns(exceptions.ApproximationWarning, match="grid_spacing=0.02 needs more"):
        kernel_propensity(X, complete, method="fft", grid_spacing=0.02)
