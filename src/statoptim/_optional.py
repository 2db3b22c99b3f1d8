"""Optional dependencies in one place, and the one progress indicator.

statoptim needs only NumPy, SciPy and scikit-learn. Everything else is
optional and imported through this module:

``matplotlib``
    figures of the studies (``pip install "statoptim[plot]"``);
``distributed`` (Dask)
    running a study on a Dask cluster (``pip install "statoptim[dask]"``);
``tqdm``
    progress bars; without it :class:`Progress` prints a plain line every few
    seconds instead;
``pandas``
    not used: study tables are written with the :mod:`csv` and :mod:`json`
    modules, which pandas reads directly.

Whatever is missing, the studies run to the end and say in one line what
they skipped and which ``pip install`` brings it back (:func:`missing`).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import time

__all__ = ["INSTALL", "Progress", "installed", "missing", "optional_import", "require"]

#: How to install each optional dependency.
INSTALL = {
    "matplotlib": 'pip install "statoptim[plot]"',
    "distributed": 'pip install "statoptim[dask]"',
    "dask": 'pip install "statoptim[dask]"',
    "tqdm": "pip install tqdm",
    "pandas": "pip install pandas",
}


def installed(name):
    """Whether the module ``name`` can be imported, without importing it.

    Parameters
    ----------
    name : str
        A top-level module name such as ``"matplotlib"``.

    Returns
    -------
    bool
        False also when ``sys.modules[name]`` is None (an import blocked on purpose).
    """
    if name in sys.modules:
        return sys.modules[name] is not None
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def optional_import(name):
    """Import and return the module ``name``, or None if it is not installed.

    Parameters
    ----------
    name : str
        Module name, e.g. ``"tqdm.auto"``.

    Returns
    -------
    module or None
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def missing(name, what):
    """The one-line note for an optional dependency that is not installed.

    Parameters
    ----------
    name : str
        The module, e.g. ``"matplotlib"``.
    what : str
        What is skipped or replaced, e.g. ``"figures skipped"``.

    Returns
    -------
    str
        e.g. ``figures skipped: matplotlib is not installed (pip install "statoptim[plot]")``.
    """
    top = name.split(".")[0]
    return f"{what}: {top} is not installed ({INSTALL.get(top, f'pip install {top}')})"


def require(name, what, instead=None):
    """Import and return the module ``name``, or raise an ImportError that says how to
    install it.

    Parameters
    ----------
    name : str
        The module, e.g. ``"pandas"`` or ``"matplotlib.pyplot"``.
    what : str
        What needs it, e.g. ``"QuantileSummary.to_frame"``.
    instead : str, optional
        What to use without it, appended to the message after "or".

    Returns
    -------
    module

    Raises
    ------
    ImportError
        ``WHAT needs NAME, which is not installed; install it with `PIP COMMAND`[ or
        INSTEAD]``.
    """
    module = optional_import(name)
    if module is None:
        top = name.split(".")[0]
        hint = INSTALL.get(top, f"pip install {top}")
        raise ImportError(f"{what} needs {top}, which is not installed; install it with "
                          f"`{hint}`" + (f" or {instead}" if instead else ""))
    return module


class Progress:
    """Progress of ``total`` steps on stderr: a tqdm bar, or plain lines without tqdm.

    Without tqdm (or with ``plain=True``) a line ``DESC: N/TOTAL UNITs (P%),
    Ts elapsed, Ts left`` is printed when the count starts, at most every
    ``interval`` seconds, and when it completes.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        Label of the bar.
    unit : str, default="step"
        Name of one step (the plain line adds an "s").
    enabled : bool, default=True
        False: show nothing (counting still works).
    initial : int, default=0
        Steps already done (a resumed run).
    leave : bool, default=True
        Keep the finished tqdm bar on screen.
    interval : float, default=2.0
        Seconds between plain lines.
    plain : bool, default=False
        Plain lines even where tqdm is installed.

    Examples
    --------
    >>> with Progress(3, "demo", enabled=False) as bar:
    ...     for _ in bar.iterate(range(3)):
    ...         pass
    >>> bar.n
    3
    """

    def __init__(self, total, desc, *, unit="step", enabled=True, initial=0, leave=True,
                 interval=2.0, plain=False):
        self.total, self.desc, self.unit = int(total), desc, unit
        self.enabled, self.initial, self.n = enabled, int(initial), int(initial)
        self.interval = interval
        self.bar = None
        self.start = self.last = time.perf_counter()
        if not enabled:
            return
        tqdm = None if plain else optional_import("tqdm.auto")
        if tqdm is not None:
            self.bar = tqdm.tqdm(total=self.total, initial=self.initial, desc=desc, unit=unit,
                                 leave=leave, dynamic_ncols=True, smoothing=0.1)
        else:
            self._print()

    def update(self, k=1):
        """Count ``k`` more steps done."""
        self.n += k
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(k)
            return
        now = time.perf_counter()
        if now - self.last >= self.interval or self.n >= self.total:
            self.last = now
            self._print()

    def iterate(self, iterable):
        """Yield the items of ``iterable``, counting one step after each."""
        for item in iterable:
            yield item
            self.update(1)

    def _print(self):
        elapsed = time.perf_counter() - self.start
        done_here = self.n - self.initial
        if done_here > 0 and self.n < self.total:
            eta = f"{elapsed / done_here * (self.total - self.n):.0f}s left"
        else:
            eta = "time left unknown" if self.n < self.total else "done"
        pct = 100.0 * self.n / self.total if self.total else 100.0
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}s ({pct:.0f}%), "
              f"{elapsed:.0f}s elapsed, {eta}", file=sys.stderr, flush=True)

    def close(self):
        """Close the bar (a plain line needs no closing)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
