"""Packaging: one version, the type marker, and an installed package that is the package.

The version is written once, in ``project(version:)`` of meson.build; the wheel's
metadata, ``statoptim.__version__`` and ``statoptim --version`` must all say it.
Against an installed wheel (``.ci/run`` runs the suite that way, from outside the
source tree) the installed ``statoptim`` folder must hold every module of
``src/statoptim`` and a compiled extension for every ``.pyx`` kernel, and nothing that
is not in ``src/statoptim`` (no tests, no test data). Against an editable install
(the development set-up) every module must at least be importable through the
install plan, which is what a missing ``install_sources`` entry breaks.
"""
import importlib.machinery
import importlib.metadata
import importlib.resources
import importlib.util
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.version import Version

import statoptim
from statoptim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "statoptim"
PKG = Path(statoptim.__file__).resolve().parent
EDITABLE = PKG == SRC.resolve()  # imported from the source tree: an editable install
EXTENSION_SUFFIXES = tuple(importlib.machinery.EXTENSION_SUFFIXES)

needs_source = pytest.mark.skipif(not SRC.is_dir(), reason="no source tree beside the tests")
needs_wheel = pytest.mark.skipif(EDITABLE, reason="editable install: no installed files to list")


def _meson_version():
    text = (ROOT / "meson.build").read_text(encoding="utf-8")
    match = re.search(r"project\([^)]*?version\s*:\s*'([^']+)'", text, re.DOTALL)
    assert match, "no project(version:) in meson.build"
    return match.group(1)


def _source_files(pattern):
    """Paths (relative to src/statoptim) of the source files matching ``pattern``."""
    return sorted(p.relative_to(SRC) for p in SRC.rglob(pattern) if "__pycache__" not in p.parts)


def _module_name(rel):
    parts = ("statoptim",) + rel.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _installed_files():
    """Paths (relative to the installed package folder) of every installed file."""
    return sorted(p.relative_to(PKG) for p in PKG.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


# ------------------------------------------------------------------ version
@needs_source
def test_version_is_written_once_and_agrees_everywhere(capsys):
    version = _meson_version()
    Version(version)  # a valid PEP 440 version
    assert importlib.metadata.version("statoptim") == version, (
        "the installed metadata is stale: reinstall (pip install .)")
    assert statoptim.__version__ == version
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"statoptim {version}"
    proc = subprocess.run([sys.executable, "-m", "statoptim", "--version"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"statoptim {version}"


@needs_source
def test_pyproject_does_not_repeat_the_version():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"^version\s*=", project, re.MULTILINE)
    assert re.search(r'^dynamic\s*=\s*\[[^\]]*"version"', project, re.MULTILINE)


# ------------------------------------------------------------------ py.typed
def test_py_typed_marker_is_installed():
    assert importlib.resources.files("statoptim").joinpath("py.typed").is_file()
    if not EDITABLE:
        record = {f.as_posix() for f in importlib.metadata.files("statoptim")}
        assert "statoptim/py.typed" in record


# ------------------------------------------------------------------ contents
@needs_source
@pytest.mark.parametrize("rel", _source_files("*.py") if SRC.is_dir() else [], ids=str)
def test_every_module_is_importable_from_the_installed_package(rel):
    name = _module_name(rel)
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, f"{name} is not installed (meson install_sources?)"
    assert Path(spec.origin).name == rel.name
    if not EDITABLE:
        assert Path(spec.origin).resolve().is_relative_to(PKG)


@needs_source
@pytest.mark.parametrize("rel", _source_files("*.pyx") if SRC.is_dir() else [], ids=str)
def test_every_kernel_is_a_compiled_extension(rel):
    name = _module_name(rel)
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"kernel {name} is not built (meson py.extension_module?)"
    assert spec.origin.endswith(EXTENSION_SUFFIXES), spec.origin


@needs_source
@needs_wheel
def test_installed_package_holds_the_package_and_nothing_else():
    installed = _installed_files()
    expected = set(_source_files("*.py")) | set(_source_files("*.pxd")) | {Path("py.typed")}
    missing = expected - set(installed)
    assert not missing, f"not installed: {sorted(map(str, missing))}"
    kernels = {rel.with_suffix("") for rel in _source_files("*.pyx")}
    stray = []
    for rel in installed:
        if rel.name.endswith(EXTENSION_SUFFIXES):
            if rel.parent / rel.name.split(".", 1)[0] not in kernels:
                stray.append(rel)
        elif rel != Path("_version.py") and not (SRC / rel).is_file():
            stray.append(rel)  # e.g. a test, a test data file, a build product
    assert not stray, f"installed but not part of src/statoptim: {sorted(map(str, stray))}"
    built = {rel.parent / rel.name.split(".", 1)[0] for rel in installed
             if rel.name.endswith(EXTENSION_SUFFIXES)}
    assert built == kernels


@needs_wheel
def test_wheel_record_lists_only_the_package():
    record = [f for f in importlib.metadata.files("statoptim")]
    tops = {f.parts[0] for f in record if f.parts[0] != ".."}  # ".." : the console script
    allowed = {"statoptim", f"statoptim-{statoptim.__version__}.dist-info", "statoptim.libs"}
    assert tops <= allowed, f"the wheel installs more than the package: {sorted(tops - allowed)}"
    listed = {Path(*f.parts[1:]) for f in record
              if f.parts[0] == "statoptim" and "__pycache__" not in f.parts}
    assert listed == set(_installed_files())


@pytest.mark.skipif(os.environ.get("STATOPTIM_TEST_INSTALLED") != "1",
                    reason="set STATOPTIM_TEST_INSTALLED=1 when testing an installed wheel")
def test_tests_run_against_the_installed_package():
    site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("platlib", "purelib")}
    assert any(PKG.is_relative_to(s) for s in site), f"statoptim imported from {PKG}"
    assert not PKG.is_relative_to(SRC.resolve())
