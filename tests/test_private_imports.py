"""Studies and benchmarks use only public names of the method subpackages (issue 14, part 4).

Every module in ``src/statoptim/studies/`` and ``benchmarks/`` is parsed (not
imported) and each reference to a private module or name of a subpackage,
``statoptim.<subpackage>._x``, is an offence: ``import statoptim.sub._x``,
``from statoptim.sub._x import ...``, ``from statoptim.sub import _x`` and the
attribute chain ``statoptim.sub._x`` in code. A study module may use its own
subpackage's private modules (``statoptim.studies._registry``). The package-wide
private helpers directly under ``statoptim`` (``statoptim._validation``,
``statoptim._optional``) serve every subpackage and are not covered. Internals
meant for studies and benchmarks go in a documented public harness module
(e.g. ``statoptim.multiview.harness``).
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUDIES = ROOT / "src" / "statoptim" / "studies"
BENCHMARKS = ROOT / "benchmarks"

# Offenders that predate the rule, as (file relative to the repository, private
# module path): none are left (issue 14). Do not add; use a public name or a
# documented harness module.
ALLOWED: set[tuple[str, str]] = set()


def _modules():
    files = sorted(STUDIES.glob("*.py")) + sorted(BENCHMARKS.glob("*.py"))
    return [f for f in files if f.name != "__init__.py" or f.parent == STUDIES]


def _private_path(dotted):
    """``statoptim.<sub>._x`` prefix of a dotted name, or None if it names nothing private."""
    parts = dotted.split(".")
    if len(parts) < 3 or parts[0] != "statoptim" or parts[1].startswith("_"):
        return None
    for i in range(2, len(parts)):
        if parts[i].startswith("_") and not parts[i].startswith("__"):
            return ".".join(parts[: i + 1])
    return None


def _absolute(node, package):
    """The absolute module of an ``ImportFrom`` made inside ``package`` (a dotted name)."""
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _attribute_chain(node):
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *reversed(names)])
    return None


def _package_of(path):
    return "statoptim.studies" if path.parent == STUDIES else None


def private_references(path, package=None):
    """Every (line, private module path) that the module at ``path`` refers to.

    ``package``: the dotted package the module belongs to (its own private
    modules are allowed, and relative imports resolve against it).
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Attribute):
            chain = _attribute_chain(node)
            names = [chain] if chain else []
        for name in names:
            private = _private_path(name)
            if private is not None:
                found.append((node.lineno, private))
    own = f"{package}." if package else None
    return sorted({(line, p) for line, p in found if not (own and p.startswith(own))})


def _offences(path):
    rel = path.relative_to(ROOT).as_posix()
    return [f"{rel}:{line}: {private}"
            for line, private in private_references(path, _package_of(path))
            if (rel, private) not in ALLOWED]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_private_imports_from_method_subpackages(path):
    offences = _offences(path)
    assert not offences, ("private names of a statoptim subpackage (use a public name or a "
                          "documented harness module):\n" + "\n".join(offences))


@pytest.mark.parametrize("source, expected", [
    ("from statoptim.multiview._solver import CPSolver", ["statoptim.multiview._solver"]),
    ("from statoptim.multiview import _cp", ["statoptim.multiview._cp"]),
    ("import statoptim.ssvd._fit as f", ["statoptim.ssvd._fit"]),
    ("import statoptim\nx = statoptim.ssvd._fit.run", ["statoptim.ssvd._fit"]),
    ("from statoptim.multiview.harness import CPSolver", []),
    ("from statoptim.optim.harness import trace_stochastic", []),
    ("from statoptim import MultiViewTensorMachine, _optional", []),
    ("from statoptim._validation import _describe", []),
    ("from statoptim.multiview import retrieve", []),
])
def test_the_checker_finds_every_form(tmp_path, source, expected):
    path = tmp_path / "bench_example.py"
    path.write_text(source + "\n")
    assert [p for _, p in private_references(path)] == expected


def test_the_checker_exempts_a_study_s_own_subpackage_only(tmp_path):
    path = tmp_path / "example.py"
    path.write_text("from statoptim.studies._registry import register\n"
                    "from ._output import Table\n"
                    "from ..multiview import _solver\n")
    assert [p for _, p in private_references(path, "statoptim.studies")] == [
        "statoptim.multiview._solver"]
    assert [p for _, p in private_references(path)] == ["statoptim.studies._registry"]
