"""Shared fixtures, data makers and hypothesis profiles for the test suite.

Hypothesis profiles (choose with ``HYPOTHESIS_PROFILE=name pytest``):

- ``ci`` (default): few examples per fuzz test, no deadline, so the fuzz
  suite stays within a couple of minutes on 2 cores, debug build included;
- ``long``: a thorough local run (``HYPOTHESIS_PROFILE=long pytest -k fuzz``).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large,
             HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=_SUPPRESS, print_blob=True)
settings.register_profile("long", max_examples=2000, deadline=None,
                          suppress_health_check=_SUPPRESS, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(20261129)


def run_isolated(code, timeout=120):
    """Run ``code`` in a fresh interpreter; fail the test (not the suite) on a crash.

    Returns the ``CompletedProcess``. A negative return code (killed by a
    signal: segfault, abort) or a hang past ``timeout`` seconds fails the
    calling test with the child's stderr, so a regression of a memory-safety
    bug reports one failed test instead of taking the whole run down.
    """
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    try:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                              capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the snippet did not finish within {timeout} s:\n{code}")
    if proc.returncode < 0 or proc.returncode > 1:
        pytest.fail(f"the interpreter crashed (return code {proc.returncode}):\n"
                    f"{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def isolated():
    """The :func:`run_isolated` helper as a fixture."""
    return run_isolated
