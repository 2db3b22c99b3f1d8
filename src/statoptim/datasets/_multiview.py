"""Loaders for the cross-modal retrieval data sets (given by path; never bundled)."""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from statoptim._validation import _describe, check_random_state
from statoptim.datasets._io import check_dir, check_file, parse_float, read_csv_rows

__all__ = [
    "UCI_VIEWS",
    "load_uci_multifeature",
    "load_wikipedia_rasiwasia",
    "uci_multifeature_split",
]

UCI_VIEWS = ("fou", "fac", "kar", "pix", "zer", "mor")
_WIKI_ARRAYS = {"I_tr": "image_train", "T_tr": "text_train",
                "I_te": "image_test", "T_te": "text_test"}


# What scipy.io.loadmat raises on damaged or foreign files (besides MatReadError).
_MAT_ERRORS = (ValueError, TypeError, OSError, EOFError, KeyError, IndexError,
               AttributeError, NotImplementedError, UnicodeDecodeError, struct.error,
               zlib.error, OverflowError)


def _load_mat(path):
    """The four feature matrices of ``raw_features.mat`` as finite 2-D float64 arrays."""
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        mat = loadmat(path)
    except _MAT_ERRORS + (MatReadError,) as exc:  # the types scipy raises for damaged files
        raise ValueError(f"directory: raw_features.mat at {path!r} is not a readable MATLAB "
                         f"file ({type(exc).__name__}: {exc})") from None
    out = {}
    for key, name in _WIKI_ARRAYS.items():
        if key not in mat:
            raise ValueError(f"directory: raw_features.mat at {path!r} must hold the arrays "
                             f"{list(_WIKI_ARRAYS)}, but {key!r} is missing")
        try:
            arr = np.asarray(mat[key], dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0 \
                or not np.isfinite(arr).all():
            got = "an array that is not numeric" if arr is None else \
                f"an array of shape {arr.shape}" + ("" if arr.ndim != 2 or not arr.size
                                                    else " with NaN or inf")
            raise ValueError(f"directory: {key} in raw_features.mat at {path!r} must be a "
                             f"non-empty 2-D array of finite numbers ({name}), got {got}")
        out[name] = np.ascontiguousarray(arr)
    return out


def _wiki_labels(directory, name, n_classes):
    """Column 3 of a tab-separated list, as classes 0..n_classes-1."""
    path = check_file(os.path.join(directory, name), "directory", name)
    rows = read_csv_rows(path, "directory", name, delimiter="\t")
    if not rows:
        raise ValueError(f"directory: {name} at {path!r} is empty; expected one "
                         "'text<TAB>image<TAB>class' line per document")
    y = np.empty(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        text = row[2].strip() if len(row) >= 3 else None
        if text is None or not text.isdigit() or not 1 <= int(text) <= n_classes:
            raise ValueError(f"directory: {name} at {path!r} must have lines "
                             f"'text<TAB>image<TAB>class' with a class in 1..{n_classes}, "
                             f"got {_describe(chr(9).join(row))} in line {i + 1}")
        y[i] = int(text) - 1
    return y


def load_wikipedia_rasiwasia(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The Wikipedia features of Rasiwasia et al. (2010), standard split.

    Parameters
    ----------
    directory : str or path
        Folder holding ``raw_features.mat`` and ``{train,test}set_txt_img_cat.list``
        (and optionally ``categories.list``, one class name per line).

    Returns
    -------
    data : dict
        ``image_train`` (2173, 128), ``text_train`` (2173, 10), ``y_train``,
        ``image_test`` (693, 128), ``text_test`` (693, 10), ``y_test`` (classes
        0..9) and ``categories`` (the 10 class names).

    Raises
    ------
    FileNotFoundError
        If ``directory`` or one of the required files does not exist.
    ValueError
        If a file is damaged or the files disagree (messages name the file).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from scipy.io import savemat
    >>> from statoptim.datasets import load_wikipedia_rasiwasia
    >>> folder = tempfile.mkdtemp()
    >>> savemat(os.path.join(folder, "raw_features.mat"),
    ...         {"I_tr": np.eye(2, 3), "T_tr": np.eye(2), "I_te": np.ones((1, 3)),
    ...          "T_te": np.ones((1, 2))})
    >>> for part, lines in [("train", "t1\\ti1\\t1\\nt2\\ti2\\t2\\n"), ("test", "t3\\ti3\\t2\\n")]:
    ...     with open(os.path.join(folder, f"{part}set_txt_img_cat.list"), "w") as f:
    ...         _ = f.write(lines)
    >>> data = load_wikipedia_rasiwasia(folder)
    >>> data["image_train"].shape, data["text_test"].shape, data["y_train"], data["y_test"]
    ((2, 3), (1, 2), array([0, 1]), array([1]))
    """
    directory = check_dir(directory, "directory", "the Wikipedia data set")
    data = _load_mat(check_file(os.path.join(directory, "raw_features.mat"), "directory",
                                "raw_features.mat"))
    cats_path = os.path.join(directory, "categories.list")
    categories = [str(i) for i in range(10)]
    if os.path.exists(cats_path):
        check_file(cats_path, "directory", "categories.list")
        try:
            with open(cats_path, encoding="utf-8") as fh:
                categories = fh.read().split()
        except UnicodeDecodeError:
            raise ValueError(f"directory: categories.list at {cats_path!r} is not UTF-8 "
                             "text") from None
        if not categories:
            raise ValueError(f"directory: categories.list at {cats_path!r} must list the "
                             "class names, one per line, got an empty file")
    data["y_train"] = _wiki_labels(directory, "trainset_txt_img_cat.list", len(categories))
    data["y_test"] = _wiki_labels(directory, "testset_txt_img_cat.list", len(categories))
    data["categories"] = categories
    for part in ("train", "test"):
        n = data[f"y_{part}"].shape[0]
        for mod in ("image", "text"):
            if data[f"{mod}_{part}"].shape[0] != n:
                raise ValueError(f"directory: {mod}_{part} in raw_features.mat has "
                                 f"{data[f'{mod}_{part}'].shape[0]} rows but the {part} "
                                 f"list has {n}")
    for mod in ("image", "text"):
        if data[f"{mod}_train"].shape[1] != data[f"{mod}_test"].shape[1]:
            raise ValueError(f"directory: {mod}_train and {mod}_test in raw_features.mat "
                             f"must have the same number of columns, got "
                             f"{data[f'{mod}_train'].shape[1]} and "
                             f"{data[f'{mod}_test'].shape[1]}")
    return data


def _read_view(path, name):
    """One ``mfeat-*.csv`` (header, then features and an integer label per row)."""
    what = os.path.basename(path)
    rows = read_csv_rows(path, "directory", what)
    if len(rows) < 2 or len(rows[0]) < 2:
        raise ValueError(f"directory: {what} at {path!r} must have a header and at least "
                         f"one row of features followed by a label, got {len(rows)} row(s)")
    width = len(rows[0])
    a = np.empty((len(rows) - 1, width))
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise ValueError(f"directory: {what} at {path!r} must have {width} columns in "
                             f"every row (as in its header), got {len(row)} in row {i}")
        a[i - 2] = [parse_float(t, "directory", what, path, i, j)
                    for j, t in enumerate(row, start=1)]
    labels = a[:, -1]
    if not np.array_equal(labels, np.round(labels)):
        i = int(np.flatnonzero(labels != np.round(labels))[0])
        raise ValueError(f"directory: {what} at {path!r} must have integer class labels "
                         f"in its last column, got {float(labels[i])!r} in row {i + 2}")
    return np.ascontiguousarray(a[:, :-1]), labels.astype(np.int64)


def check_views(views):
    """``views`` as a non-empty list of UCI view names (a single name is one view)."""
    if isinstance(views, str):
        views = (views,)
    try:
        views = list(views)
    except TypeError:
        raise TypeError(f"views must be a sequence of view names among {UCI_VIEWS}, "
                        f"got {_describe(views)}") from None
    if not views:
        raise ValueError(f"views must name at least one view among {UCI_VIEWS}, got none")
    for name in views:
        if not isinstance(name, str) or name not in UCI_VIEWS:
            raise ValueError(f"views must be among {UCI_VIEWS}, got {_describe(name)}")
    return views


def load_uci_multifeature(
    directory: str | os.PathLike[str], views: Sequence[str] | str = UCI_VIEWS,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The six row-aligned views of UCI Multiple Features (2,000 digits, 10 classes).

    Parameters
    ----------
    directory : str or path
        Folder holding ``mfeat-<view>.csv`` for the requested views: a header,
        then one row per item with its features and its integer label last.
    views : sequence of str or str, default=UCI_VIEWS
        Names among ``("fou", "fac", "kar", "pix", "zer", "mor")``; a single
        name loads one view.

    Returns
    -------
    X : dict
        View name -> array of shape (2000, n_features).
    y : ndarray of shape (2000,), int64
        The labels (the same in every view).

    Examples
    --------
    >>> import os, tempfile
    >>> from statoptim.datasets import load_uci_multifeature
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "mfeat-mor.csv"), "w") as f:
    ...     _ = f.write("m1,m2,label\\n0.5,1.5,0\\n2.0,0.25,1\\n")
    >>> X, y = load_uci_multifeature(folder, views="mor")
    >>> X["mor"], y
    (array([[0.5 , 1.5 ],
           [2.  , 0.25]]), array([0, 1]))
    """
    directory = check_dir(directory, "directory", "the UCI Multiple Features data set")
    views = check_views(views)
    X, y, first = {}, None, None
    for name in views:
        path = check_file(os.path.join(directory, f"mfeat-{name}.csv"), "directory",
                          f"mfeat-{name}.csv")
        X[name], labels = _read_view(path, name)
        if y is None:
            y, first = labels, name
        elif labels.shape != y.shape:
            raise ValueError(f"directory: mfeat-{name}.csv has {labels.size} rows but "
                             f"mfeat-{first}.csv has {y.size}; the views must be row-aligned")
        elif not np.array_equal(y, labels):
            raise ValueError(f"directory: mfeat-{name}.csv labels differ from the other "
                             "views")
    return X, y


def uci_multifeature_split(
    y: ArrayLike, seed: int | np.random.SeedSequence | np.random.Generator | None,
) -> tuple[np.ndarray, np.ndarray]:
    """The stratified 50/50 split of docs/multiview.rst, "Data and protocol": per
    class (in order) a permutation of its row indices from ``default_rng(seed)``;
    first half train, rest test; both sorted.

    Parameters
    ----------
    y : array of shape (n,)
        Class labels (integers or strings).
    seed : int >= 0, SeedSequence, Generator or None

    Returns
    -------
    train, test : ndarrays of int64
        Sorted row indices; together they are ``0..n-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from statoptim.datasets import uci_multifeature_split
    >>> y = np.repeat([0, 1], 4)
    >>> train, test = uci_multifeature_split(y, seed=0)
    >>> train, test
    (array([0, 2, 6, 7]), array([1, 3, 4, 5]))
    """
    rng = check_random_state(seed, "seed")
    try:
        labels = np.asarray(y)
    except (TypeError, ValueError):
        labels = None
    if labels is None or labels.dtype.kind not in "biufUS":
        raise ValueError(f"y must be a 1-D array of class labels (numbers or strings), "
                         f"got {_describe(y)}")
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError(f"y must be a non-empty 1-D array of class labels, got an array "
                         f"of shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.isfinite(labels).all():
        raise ValueError("y must hold finite class labels, got NaN or inf")
    train, test = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        perm = idx[rng.permutation(idx.size)]
        half = idx.size // 2
        train.append(perm[:half])
        test.append(perm[half:])
    return (np.sort(np.concatenate(train)).astype(np.int64),
            np.sort(np.concatenate(test)).astype(np.int64))
