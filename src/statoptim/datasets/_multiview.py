"""Loaders for the cross-modal retrieval data sets (given by path; never bundled)."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["load_wikipedia_rasiwasia", "load_uci_multifeature", "uci_multifeature_split",
           "UCI_VIEWS"]

UCI_VIEWS = ("fou", "fac", "kar", "pix", "zer", "mor")


def _require(path, what):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{what} not found at {path!r}")
    return path


def load_wikipedia_rasiwasia(directory):
    """The Wikipedia features of Rasiwasia et al. (2010), standard split.

    Parameters
    ----------
    directory : str or path
        Folder holding ``raw_features.mat`` and ``{train,test}set_txt_img_cat.list``.

    Returns
    -------
    data : dict
        ``image_train`` (2173, 128), ``text_train`` (2173, 10), ``y_train``,
        ``image_test`` (693, 128), ``text_test`` (693, 10), ``y_test`` (classes
        0..9) and ``categories`` (the 10 class names).
    """
    from scipy.io import loadmat

    mat = loadmat(_require(os.path.join(directory, "raw_features.mat"), "raw_features.mat"))

    def labels(name):
        rows = np.loadtxt(_require(os.path.join(directory, name), name), dtype=str,
                          delimiter="\t", ndmin=2)
        return rows[:, 2].astype(int) - 1

    cats_path = os.path.join(directory, "categories.list")
    categories = [str(i) for i in range(10)]
    if os.path.exists(cats_path):
        with open(cats_path) as fh:
            categories = fh.read().split()
    data = {
        "image_train": np.asarray(mat["I_tr"], dtype=np.float64),
        "text_train": np.asarray(mat["T_tr"], dtype=np.float64),
        "image_test": np.asarray(mat["I_te"], dtype=np.float64),
        "text_test": np.asarray(mat["T_te"], dtype=np.float64),
        "y_train": labels("trainset_txt_img_cat.list"),
        "y_test": labels("testset_txt_img_cat.list"),
        "categories": categories,
    }
    for part in ("train", "test"):
        n = data[f"y_{part}"].shape[0]
        for mod in ("image", "text"):
            if data[f"{mod}_{part}"].shape[0] != n:
                raise ValueError(f"{mod}_{part} has {data[f'{mod}_{part}'].shape[0]} rows but "
                                 f"the {part} list has {n}")
    return data


def load_uci_multifeature(directory, views=UCI_VIEWS):
    """The six row-aligned views of UCI Multiple Features (2,000 digits, 10 classes).

    Returns ``(X, y)``: a dict view name -> (2000, n_features) array and the labels.
    """
    X, y = {}, None
    for name in views:
        if name not in UCI_VIEWS:
            raise ValueError(f"views must be among {UCI_VIEWS}, got {name!r}")
        path = _require(os.path.join(directory, f"mfeat-{name}.csv"), f"mfeat-{name}.csv")
        a = np.loadtxt(path, delimiter=",", skiprows=1)
        X[name] = np.ascontiguousarray(a[:, :-1])
        labels = a[:, -1].astype(int)
        if y is None:
            y = labels
        elif not np.array_equal(y, labels):
            raise ValueError(f"mfeat-{name}.csv labels differ from the other views")
    return X, y


def uci_multifeature_split(y, seed):
    """The spec's stratified 50/50 split: per class (in order) a permutation of its
    row indices from ``default_rng(seed)``; first half train, rest test; both sorted."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        perm = idx[rng.permutation(idx.size)]
        half = idx.size // 2
        train.append(perm[:half])
        test.append(perm[half:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
