"""Helpers shared by the optim tests: error-message checks, in this interpreter and in
an isolated one (the ``isolated`` fixture of conftest.py)."""
import re
import textwrap

import pytest

#: The end of an isolated snippet that defines ``cases``, a list of ``(name, call)``:
#: every call must raise ValueError whose message contains ``name``; prints "all <n>".
_CHECK_CASES = """
for name, fn in cases:
    try:
        fn()
    except ValueError as exc:
        assert name in str(exc), (name, exc)
    else:
        raise SystemExit("no error for " + name)
print("all", len(cases))
"""


def raises_naming(fn, *names, exc=(ValueError, TypeError)):
    """Call fn; it must raise ``exc`` whose message names one of ``names`` (as a word).
    Returns the exception."""
    with pytest.raises(exc) as info:
        fn()
    msg = str(info.value)
    assert any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", msg)
               for n in names), f"message does not name {names}: {msg}"
    return info.value


def expect_value_errors(setup):
    """An isolated-interpreter snippet: ``setup`` (indented as in a test) builds
    ``cases`` = [(name, call), ...]; the snippet checks that each call raises ValueError
    naming ``name`` and prints "all <number of cases>"."""
    return textwrap.dedent(setup) + _CHECK_CASES
