"""Hardening of statoptim.datasets (issue 12): every public entry point, bad input and
damaged files.

Each function in ``statoptim.datasets.__all__`` must give a clear ``ValueError`` /
``TypeError`` (``FileNotFoundError`` for a missing file) naming the argument, or output
of the documented shapes and dtypes, finite and reproducible for a seed. The fuzz tests
(``-k fuzz``) check exactly that; ``HYPOTHESIS_PROFILE=long`` runs them thoroughly.
Synthetic files are written to ``tmp_path``; the real data (found by
``statoptim.datasets.find_dataset``) is read only by one test, skipped when absent.
"""
import gzip
import math
import os
import tracemalloc
import zlib

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal
from scipy.io import savemat

import statoptim.datasets as ds
from statoptim.datasets import (
    censoring_mean,
    load_digits_0v6,
    load_lung200,
    load_mnist,
    load_uci_multifeature,
    load_wikipedia_rasiwasia,
    make_censored_quantile,
    make_logistic,
    make_lung_spiked,
    make_quantile_regression,
    make_rank_one_ssvd,
    mnist_binary,
    quantile_truth,
    read_idx,
    uci_multifeature_split,
)

# Values that are not what any argument wants, mixed with plausible ones.
JUNK = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.floats(allow_nan=True),
                 st.complex_numbers(max_magnitude=2), st.lists(st.integers(0, 3), max_size=2))


def _named_error(exc, names):
    """The error is a ValueError/TypeError whose message cites one of ``names``."""
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    msg = str(exc)
    assert any(name in msg for name in names), msg
    assert "must" in msg or "expected" in msg, msg


def _call(fn, names, *args, **kwargs):
    """``fn(...)``, or None after checking that the error names an argument."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        _named_error(exc, names)
        return None


def _write_idx(path, arr, gz=False):
    raw = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    raw += arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw, mtime=0) if gz else raw)
    return raw


def _reference_idx(data):
    """Plain reading of IDX bytes: the uint8 array, or None if they are not valid IDX."""
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or not 1 <= data[3] <= 32:
        return None
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        return None
    dims = [int.from_bytes(data[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim)]
    body = data[4 + 4 * ndim:]
    if len(body) != math.prod(dims):
        return None
    return np.frombuffer(body, dtype=np.uint8).reshape(dims)


# --------------------------------------------------------------------------- #
# Generators: regression tests
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("rep", [-1, "x", 1.5, None, True])
def test_lung_spiked_rep_is_checked(rep):
    # -1 used to run silently (seed 56012624), "x" failed inside "56012625 + rep".
    with pytest.raises(ValueError, match=r"rep must be an integer >= 0"):
        make_lung_spiked(rep)
    with pytest.raises(ValueError, match=r"rep must be an integer >= 0"):
        make_rank_one_ssvd(rep)


@pytest.mark.parametrize("kwargs, match", [
    ({"d": (1.0, 2.0)}, r"d must be a sequence of 3 .*got 2"),
    ({"d": "abc"}, r"d must be a sequence of 3"),
    ({"d": 5.0}, r"d must be a sequence of 3"),
    ({"d": (1.0, np.nan, 2.0)}, r"d\[1\] must be a finite number > 0"),
    ({"d": (1.0, -2.0, 2.0)}, r"d\[1\] must be a finite number > 0"),
    ({"d": (1.0, "2", 2.0)}, r"d\[1\] must be one of 3"),
    ({"d": np.ones((3, 1))}, r"d must be a sequence of 3"),
    ({"u_sizes": (5, 5)}, r"u_sizes must be a sequence of 3"),
    ({"u_sizes": (5, 0, 5)}, r"u_sizes\[1\] must be an integer >= 1"),
    ({"u_sizes": (5, 2.5, 5)}, r"u_sizes\[1\] must be an integer >= 1"),
    ({"n_samples": 10, "u_sizes": (5, 5, 5)}, r"n_samples must be an integer >= 15"),
    ({"n_samples": 30.0}, r"n_samples must be an integer"),
    ({"sigma": -1.0}, r"sigma must be a finite number >= 0"),
    ({"sigma": np.inf}, r"sigma must be a finite number >= 0"),
])
def test_lung_spiked_arguments_are_checked(kwargs, match):
    kwargs = {"n_samples": 40, "u_sizes": (5, 4, 3), **kwargs}
    with pytest.raises((ValueError, TypeError), match=match):
        make_lung_spiked(0, **kwargs)


def test_lung_spiked_unchanged_for_valid_input():
    X, U, d, V = make_lung_spiked(3, n_samples=40, d=[5, 4, 3], u_sizes=np.array([5, 4, 3]))
    assert X.shape == (40, 56) and U.shape == (40, 3) and V.shape == (56, 3)
    assert d.dtype == np.float64 and d.tolist() == [5.0, 4.0, 3.0]
    assert_array_equal(np.count_nonzero(U, axis=0), [5, 4, 3])
    np.testing.assert_allclose(np.linalg.norm(U, axis=0), 1.0)
    X2, *_ = make_lung_spiked(np.int64(3), n_samples=40, d=(5.0, 4.0, 3.0), u_sizes=(5, 4, 3))
    assert_array_equal(X, X2)


def test_quantile_truth_checks_its_arguments():
    # quantile=1.5 used to return NaN as the intercept, silently.
    for q in (1.5, 0.0, 1.0, np.nan, "0.5", None):
        with pytest.raises(ValueError, match=r"quantile must be a finite number > 0 and < 1"):
            quantile_truth(q)
    with pytest.raises(ValueError, match=r"n_noise_features must be an integer >= 0"):
        quantile_truth(0.5, -1)
    b0, coef = quantile_truth(np.float32(0.5), np.int8(2))
    assert b0 == 0.0 and coef.tolist() == [4.5, -2.0, 0.0, 0.0]


def test_censoring_mean_checks_its_argument():
    # A list used to fail inside lru_cache with "unhashable type: 'list'".
    for rate in ([0.1], "0.1", None, -0.1, 1.0, 0.9999, np.nan):
        with pytest.raises(ValueError, match=r"rate must be a finite number >= 0"):
            censoring_mean(rate)
    assert censoring_mean(0.5) == pytest.approx(0.0, abs=1e-9)
    assert censoring_mean(np.float32(0.25)) == pytest.approx(5.5268, abs=1e-4)


@pytest.mark.parametrize("rate", [1e-300, 5e-324, 1e-17, 0.999])
def test_censoring_rates_near_the_ends_solve(rate):
    # Rates near 0 used to fail in brentq: "f(a) and f(b) must have different signs".
    mu = censoring_mean(rate)
    assert math.isfinite(mu)
    b = make_censored_quantile(200, censoring=rate, missing=rate, random_state=0)
    assert np.isfinite(b.y).all() and b.complete.dtype == bool
    if rate < 1e-10:
        assert b.event.all() and b.complete.all()


@pytest.mark.parametrize("kwargs, match", [
    ({"n_samples": 1}, r"n_samples must be an integer >= 2"),
    ({"censoring": 1.0}, r"censoring must be a finite number >= 0"),
    ({"missing": -0.1}, r"missing must be a finite number >= 0"),
    ({"missing": [0.3]}, r"missing must be a finite number"),
    ({"design": "Talk"}, r"design must be one of \['identifiable', 'talk'\]"),
    ({"design": ["talk"]}, r"design must be one of"),
    ({"random_state": -3}, r"random_state must be a non-negative integer"),
    ({"random_state": "0"}, r"random_state must be None, an int"),
])
def test_censored_quantile_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_censored_quantile(**{"n_samples": 20, **kwargs})


def test_make_logistic_rho_accepts_numpy_floats_and_rejects_bool():
    X, y, beta = make_logistic(20, 3, rho=np.float32(0.5), random_state=0)
    assert X.shape == (20, 3) and y.dtype == np.int64 and beta.shape == (4,)
    for rho in (True, 1.0, -0.1, np.nan, "0.3"):
        with pytest.raises(ValueError, match=r"rho must be a finite number >= 0"):
            make_logistic(20, 3, rho=rho)


def test_mnist_binary_checks_its_arguments():
    images = np.arange(5 * 4, dtype=np.uint8).reshape(5, 4)
    labels = np.array([0, 6, 1, 6, 0])
    X, y = mnist_binary(images, labels, dtype=np.float32)
    assert X.dtype == np.float32 and X.shape == (4, 4) and y.tolist() == [0, 1, 1, 0]
    cases = [
        ((images, labels[:4]), {}, r"labels must be a 1-D array with one label per row"),
        ((images.reshape(5, 2, 2), labels), {}, r"images must be a 2-D array"),
        ((images, labels, (6, 6)), {}, r"digits must be two distinct"),
        ((images, labels, (0,)), {}, r"digits must be a pair"),
        ((images, labels, "06"), {}, r"digits must be a pair"),
        ((images, labels, (0, 6.5)), {}, r"digits\[1\] must be an integer"),
        ((images, labels), {"dtype": np.int32}, r"dtype must be numpy.float32 or"),
        ((images, labels), {"dtype": "bogus"}, r"dtype must be numpy.float32 or"),
        ((images, labels, (2, 3)), {}, r"labels must hold rows of the digits 2 or 3, got none"),
        ((images, labels.astype(str)), {}, r"labels must be a 1-D array of integer"),
        ((images * np.nan, labels), {}, r"images must be finite"),
    ]
    for args, kwargs, match in cases:
        with pytest.raises((ValueError, TypeError), match=match):
            mnist_binary(*args, **kwargs)


def test_load_digits_dtype_is_checked():
    # dtype=np.int32 used to return float64 pixels (int32 / int32(16)), silently.
    with pytest.raises(ValueError, match=r"dtype must be numpy.float32 or numpy.float64"):
        load_digits_0v6(dtype=np.int32)
    X, y = load_digits_0v6(dtype=np.float32)
    assert X.shape == (359, 64) and X.dtype == np.float32 and y.sum() == 181


@pytest.mark.parametrize("y, seed, match", [
    (np.zeros((4, 2)), 0, r"y must be a non-empty 1-D array"),
    ([], 0, r"y must be a non-empty 1-D array"),
    ([0.0, np.nan, 1.0], 0, r"y must hold finite class labels"),
    ([None, 1], 0, r"y must be a 1-D array of class labels"),
    ([0, 1, 1], -1, r"seed must be a non-negative integer"),
    ([0, 1, 1], "7", r"seed must be None, an int"),
])
def test_uci_split_checks_its_arguments(y, seed, match):
    with pytest.raises(ValueError, match=match):
        uci_multifeature_split(y, seed)


def test_uci_split_string_labels_partition_the_rows():
    y = np.array(list("aabbbcc"))
    tr, te = uci_multifeature_split(y, 5)
    assert_array_equal(np.sort(np.r_[tr, te]), np.arange(7))
    assert tr.dtype == np.int64 and sorted(y[tr]) == ["a", "b", "c"]


# --------------------------------------------------------------------------- #
# Loaders: arguments that are not paths, missing folders, files for folders
# --------------------------------------------------------------------------- #
LOADERS = [(read_idx, "path"), (load_mnist, "path"), (load_lung200, "data_dir"),
           (load_wikipedia_rasiwasia, "directory"), (load_uci_multifeature, "directory")]


@pytest.mark.parametrize("loader, name", LOADERS)
@pytest.mark.parametrize("bad", [3, None, 2.5, ["a"], True])
def test_loaders_reject_non_paths_naming_the_argument(loader, name, bad):
    # Used to be a bare "expected str, bytes or os.PathLike object, not int".
    if loader is load_lung200 and bad is None:  # no folder: the copy shipped in the package
        assert loader(bad)[0].shape == (200, 56)
        return
    with pytest.raises(TypeError, match=rf"^{name} must be a path \(str or os.PathLike\)"):
        loader(bad)


@pytest.mark.parametrize("loader, name", LOADERS)
def test_loaders_missing_and_wrong_kind_of_path(loader, name, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises((FileNotFoundError, ValueError), match=rf"{name}.*nowhere"):
        loader(missing)
    with pytest.raises(ValueError, match=rf"{name} must be a non-empty path"):
        loader("")
    a_file = tmp_path / "afile"
    a_file.write_bytes(b"x")
    if loader is read_idx:
        with pytest.raises(ValueError, match=r"path must be an IDX file, got .*folder"):
            loader(tmp_path)
    else:
        with pytest.raises(ValueError, match=rf"{name} must be .*(folder|directory).*afile"):
            loader(a_file)


def test_loaders_accept_bytes_and_pathlike(tmp_path):
    arr = np.arange(6, dtype=np.uint8).reshape(2, 3)
    _write_idx(tmp_path / "a.idx", arr)
    assert_array_equal(read_idx(os.fsencode(tmp_path / "a.idx")), arr)
    assert_array_equal(read_idx(tmp_path / "a.idx"), arr)


# --------------------------------------------------------------------------- #
# read_idx: damaged files
# --------------------------------------------------------------------------- #
def test_read_idx_bogus_header_does_not_allocate(tmp_path):
    # A header announcing 4 GiB x 3 must be rejected from the file size (raw) or after
    # reading what the stream really holds (gzip), never by allocating the announced size.
    head = bytes([0, 0, 8, 2]) + (2**32 - 1).to_bytes(4, "big") + (3).to_bytes(4, "big")
    (tmp_path / "big").write_bytes(head + b"\x01" * 10)
    (tmp_path / "big.gz").write_bytes(gzip.compress(head + b"\x01" * 10))
    tracemalloc.start()
    try:
        for name in ("big", "big.gz"):
            with pytest.raises(ValueError, match=r"expected 12884901885 data bytes .*got 10"):
                read_idx(tmp_path / name)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


@pytest.mark.parametrize("data, match", [
    (bytes([0, 0, 8, 0]), r"expected 1 to 32 dimensions .*got 0"),
    (bytes([0, 0, 8, 65]) + (1).to_bytes(4, "big") * 65 + b"\x00", r"got 65"),
    (bytes([0, 0, 8, 3]) + (1).to_bytes(4, "big"), r"expected 3 dimension\(s\) in a 16-byte"),
    (b"\x00\x00", r"expected a 4-byte magic number, got 2"),
    (b"", r"expected a 4-byte magic number, got 0"),
])
def test_read_idx_damaged_headers(tmp_path, data, match):
    # 65 dimensions of size 1 used to reach numpy's reshape ("maximum supported dimension").
    for gz in (False, True):
        p = tmp_path / ("f.gz" if gz else "f")
        p.write_bytes(gzip.compress(data) if gz else data)
        with pytest.raises(ValueError, match=r"^path: IDX file .*" + match):
            read_idx(p)


def test_read_idx_damaged_gzip_streams(tmp_path):
    arr = np.arange(60, dtype=np.uint8).reshape(3, 4, 5)
    raw = bytes([0, 0, 8, 3]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    good = gzip.compress(raw + arr.tobytes(), mtime=0)
    # Truncated stream (EOFError), bad CRC (BadGzipFile), corrupt deflate data (zlib.error).
    bad_crc = good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:]
    corrupt = good[:10] + b"\xff" * 8 + good[18:]
    for data in (good[:-5], bad_crc, corrupt):
        (tmp_path / "m.gz").write_bytes(data)
        with pytest.raises(ValueError, match=r"^path: IDX file .*m.gz.*: cannot decompress"):
            read_idx(tmp_path / "m.gz")
    # Trailing bytes after the payload are an error too.
    (tmp_path / "t.gz").write_bytes(gzip.compress(raw + arr.tobytes() + b"\x00"))
    with pytest.raises(ValueError, match=r"expected 60 data bytes .*got 61 or more"):
        read_idx(tmp_path / "t.gz")
    (tmp_path / "ok.gz").write_bytes(good)
    assert_array_equal(read_idx(tmp_path / "ok.gz"), arr)


def test_read_idx_crash_free_in_a_fresh_interpreter(isolated, tmp_path):
    p = tmp_path / "h"
    p.write_bytes(bytes([0, 0, 8, 255]) + b"\xff" * (4 * 255))
    proc = isolated(f"""
        from statoptim.datasets import read_idx
        try:
            read_idx({str(p)!r})
        except ValueError as exc:
            print("ValueError", exc)
    """)
    assert proc.returncode == 0 and "ValueError path: IDX file" in proc.stdout


def test_load_mnist_names_the_argument_for_missing_files(tmp_path):
    arr = np.zeros((2, 2, 2), dtype=np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte", arr)
    with pytest.raises(ValueError, match=r"^path: MNIST file train-labels-idx1-ubyte"):
        load_mnist(tmp_path)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"MNIST train: expected images .* and labels"):
        load_mnist(tmp_path)
    for kind in ("all", None, ["train"]):
        with pytest.raises(ValueError, match=r"kind must be one of \['train', 'test', 'both'\]"):
            load_mnist(tmp_path, kind=kind)


# --------------------------------------------------------------------------- #
# CSV and MATLAB loaders: damaged files
# --------------------------------------------------------------------------- #
def _lung(tmp_path, text):
    (tmp_path / "lung200").mkdir(exist_ok=True)
    (tmp_path / "lung200" / "lung200.csv").write_text(text)
    return tmp_path


@pytest.mark.parametrize("text, match", [
    ("", r"must have a header .* got 0 row"),  # used to raise StopIteration
    ("probe,A,B\n", r"must have a header .* got 1 row"),
    ("probe\ng1\n", r"must have a header"),
    ("probe,A,B\ng1,1,2\ng2,1\n", r"must have 3 columns in every row .*got 2 in row 3"),
    ("probe,A,B\ng1,1,2,3\n", r"must have 3 columns .*got 4 in row 2"),
    ("probe,A,B\ng1,1,x\n", r"must hold finite numbers, got 'x' in row 2, column 3"),
    ("probe,A,B\ng1,1,nan\n", r"must hold finite numbers, got 'nan'"),
    ("probe,A,B\ng1,1,\n", r"must hold finite numbers, got ''"),
])
def test_load_lung200_damaged_csv(tmp_path, text, match):
    with pytest.raises(ValueError, match=r"^data_dir: lung200.csv at .*" + match):
        load_lung200(_lung(tmp_path, text))


def test_load_lung200_non_utf8_and_folder_for_file(tmp_path):
    (tmp_path / "lung200").mkdir()
    (tmp_path / "lung200" / "lung200.csv").write_bytes(b"probe,A\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match=r"data_dir: lung200.csv .*not a UTF-8"):
        load_lung200(tmp_path)
    (tmp_path / "lung200" / "lung200.csv").unlink()
    (tmp_path / "lung200" / "lung200.csv").mkdir()
    with pytest.raises(ValueError, match=r"data_dir: expected .* to be a file"):
        load_lung200(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"data_dir: lung200 data .* not found at"):
        load_lung200(tmp_path / "lung200")


def test_load_lung200_reads_a_small_file(tmp_path):
    X, labels, probes = load_lung200(_lung(tmp_path, "probe,A,B\ng1,1.5,-2\ng2,0,3e2\n"))
    assert X.dtype == np.float64 and X.tolist() == [[1.5, -2.0], [0.0, 300.0]]
    assert labels == ["A", "B"] and probes.tolist() == ["g1", "g2"]


def _uci(tmp_path, views=("fou", "fac"), n=4, text=None):
    for v in views:
        lines = ["0,1,2"] + [f"{i}.5,{i},{i % 2}" for i in range(n)]
        (tmp_path / f"mfeat-{v}.csv").write_text(text if text is not None
                                                 else "\n".join(lines) + "\n")
    return tmp_path


@pytest.mark.parametrize("text, match", [
    ("0,1,2\n1.5,2,3\n", None),  # one row: used to raise IndexError on a 1-D array
    ("0,1,2\n", r"at least one row"),
    ("0\n1\n", r"at least one row"),
    ("0,1,2\n1,2,3.5\n", r"integer class labels .*got 3.5 in row 2"),  # used to truncate
    ("0,1,2\n1,2,nan\n", r"finite numbers, got 'nan'"),  # used to give a garbage int
    ("0,1,2\n1,2\n", r"3 columns in every row .*got 2 in row 2"),
])
def test_load_uci_damaged_csv(tmp_path, text, match):
    _uci(tmp_path, ("fou",), text=text)
    if match is None:
        X, y = load_uci_multifeature(tmp_path, "fou")
        assert X["fou"].shape == (1, 2) and y.tolist() == [3]
        return
    with pytest.raises(ValueError, match=r"^directory: mfeat-fou.csv .*" + match):
        load_uci_multifeature(tmp_path, ["fou"])


def test_load_uci_views_and_alignment(tmp_path):
    _uci(tmp_path, ("fou", "fac"))
    X, y = load_uci_multifeature(tmp_path, ("fou", "fac"))
    assert X["fac"].shape == (4, 2) and y.dtype == np.int64 and y.tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"views must name at least one view"):
        load_uci_multifeature(tmp_path, [])
    with pytest.raises(TypeError, match=r"views must be a sequence of view names"):
        load_uci_multifeature(tmp_path, None)
    for bad in (["fou", 3], ["FOU"], [["fou"]]):
        with pytest.raises(ValueError, match=r"views must be among"):
            load_uci_multifeature(tmp_path, bad)
    with pytest.raises(FileNotFoundError, match=r"directory: mfeat-kar.csv not found at"):
        load_uci_multifeature(tmp_path, ("fou", "kar"))
    _uci(tmp_path, ("kar",), n=5)
    with pytest.raises(ValueError, match=r"mfeat-kar.csv has 5 rows but mfeat-fou.csv has 4"):
        load_uci_multifeature(tmp_path, ("fou", "kar"))


def _wiki(tmp_path, mat=None, train=None, test=None):
    rng = np.random.default_rng(0)
    if mat is None:
        mat = {"I_tr": rng.random((4, 3)), "T_tr": rng.random((4, 2)),
               "I_te": rng.random((2, 3)), "T_te": rng.random((2, 2))}
    if isinstance(mat, bytes):
        (tmp_path / "raw_features.mat").write_bytes(mat)
    else:
        savemat(tmp_path / "raw_features.mat", mat)
    (tmp_path / "trainset_txt_img_cat.list").write_text(
        train if train is not None else "".join(f"t{i}\ti{i}\t{i + 1}\n" for i in range(4)))
    (tmp_path / "testset_txt_img_cat.list").write_text(
        test if test is not None else "a\tb\t10\nc\td\t1\n")
    return tmp_path


def test_load_wikipedia_reads_a_small_set(tmp_path):
    w = load_wikipedia_rasiwasia(_wiki(tmp_path))
    assert w["image_train"].shape == (4, 3) and w["text_test"].shape == (2, 2)
    assert w["y_train"].tolist() == [0, 1, 2, 3] and w["y_test"].tolist() == [9, 0]


@pytest.mark.parametrize("kwargs, match", [
    ({"mat": b"not a mat file at all"}, r"raw_features.mat at .* is not a readable MATLAB"),
    ({"mat": b"MATLAB 5.0 MAT-file" + b"\x00" * 200}, r"is not a readable MATLAB"),
    ({"mat": {"I_tr": np.ones((4, 3))}}, r"must hold the arrays .*'T_tr' is missing"),
    ({"mat": {"I_tr": np.ones((4, 3, 2)), "T_tr": np.ones((4, 2)), "I_te": np.ones((2, 3)),
              "T_te": np.ones((2, 2))}}, r"I_tr in raw_features.mat .* non-empty 2-D"),
    ({"mat": {"I_tr": np.full((4, 3), np.nan), "T_tr": np.ones((4, 2)),
              "I_te": np.ones((2, 3)), "T_te": np.ones((2, 2))}}, r"with NaN or inf"),
    ({"mat": {"I_tr": np.ones((4, 3)), "T_tr": np.ones((4, 2)), "I_te": np.ones((2, 4)),
              "T_te": np.ones((2, 2))}}, r"image_train and image_test .* same number"),
    ({"train": "a\tb\n"}, r"trainset_txt_img_cat.list .*class in 1..10"),  # was IndexError
    ({"train": "a\tb\tsix\n"}, r"class in 1..10, got 'a\\tb\\tsix' in line 1"),
    ({"test": "a\tb\t11\n"}, r"testset_txt_img_cat.list .*class in 1..10"),
    ({"test": ""}, r"testset_txt_img_cat.list at .* is empty"),
    ({"test": "a\tb\t1\n"}, r"image_test in raw_features.mat has 2 rows but the test list"),
])
def test_load_wikipedia_damaged_files(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=r"^directory: .*" + match):
        load_wikipedia_rasiwasia(_wiki(tmp_path, **kwargs))


def test_load_wikipedia_missing_list(tmp_path):
    _wiki(tmp_path)
    (tmp_path / "testset_txt_img_cat.list").unlink()
    with pytest.raises(FileNotFoundError, match=r"directory: testset_txt_img_cat.list not"):
        load_wikipedia_rasiwasia(tmp_path)


# --------------------------------------------------------------------------- #
# Fuzz tests
# --------------------------------------------------------------------------- #
SEEDS = st.one_of(st.integers(-2, 2**40), st.none())


def _spoil(kwargs, spoil, junk):
    """``kwargs`` with the argument ``spoil`` (if any) replaced by ``junk``."""
    if spoil is not None:
        kwargs = {**kwargs, spoil: junk}
    return kwargs


def _outcome(out):
    event("error" if out is None else "output")
    return out


LUNG = ("rep", "n_samples", "d", "u_sizes", "sigma")


@given(rep=st.integers(-1, 2**64), n_samples=st.integers(-2, 250),
       d=st.lists(st.floats(1e-3, 1e6), min_size=3, max_size=3),
       u_sizes=st.lists(st.integers(1, 25), min_size=3, max_size=3),
       sigma=st.floats(0, 10), spoil=st.sampled_from((None,) * 3 + LUNG),
       junk=st.one_of(JUNK, st.lists(st.one_of(st.floats(), st.integers(-2, 30)), max_size=4)))
def test_fuzz_make_lung_spiked(rep, n_samples, d, u_sizes, sigma, spoil, junk):
    kw = _spoil({"rep": rep, "n_samples": n_samples, "d": d, "u_sizes": u_sizes,
                 "sigma": sigma}, spoil, junk)
    out = _outcome(_call(make_lung_spiked, LUNG, **kw))
    if out is None:
        return
    X, U, dd, V = out
    n = kw["n_samples"]
    assert X.shape == (n, 56) and U.shape == (n, 3) and V.shape == (56, 3)
    assert dd.shape == (3,) and X.dtype == U.dtype == dd.dtype == V.dtype == np.float64
    assert np.isfinite(X).all() and np.isfinite(U).all() and (dd > 0).all()
    np.testing.assert_allclose(np.linalg.norm(U, axis=0), 1.0)
    assert_array_equal(np.count_nonzero(U, axis=0), list(kw["u_sizes"]))
    assert_array_equal(make_lung_spiked(**kw)[0], X)


@given(rep=st.one_of(st.integers(-3, 2**70), JUNK))
def test_fuzz_make_rank_one_ssvd(rep):
    out = _outcome(_call(make_rank_one_ssvd, ("rep",), rep))
    if out is not None:
        X, U, d, V = out
        assert X.shape == (100, 50) and U.shape == (100, 1) and V.shape == (50, 1)
        assert np.isfinite(X).all() and d.tolist() == [50.0]
        assert_array_equal(make_rank_one_ssvd(rep)[0], X)


CENSORED = ("n_samples", "censoring", "missing", "design", "random_state")


@given(n=st.integers(0, 60), censoring=st.floats(-0.05, 1.0),
       missing=st.one_of(st.floats(-0.05, 1.0), st.just(1e-300)),
       design=st.sampled_from(["identifiable", "talk", "TALK"]), seed=SEEDS,
       spoil=st.sampled_from((None, None, *CENSORED)), junk=JUNK)
def test_fuzz_make_censored_quantile(n, censoring, missing, design, seed, spoil, junk):
    kw = _spoil({"n_samples": n, "censoring": censoring, "missing": missing,
                 "design": design, "random_state": seed}, spoil, junk)
    b = _outcome(_call(make_censored_quantile, CENSORED, **kw))
    if b is None:
        return
    n = kw["n_samples"]
    assert b.X.shape == b.X_full.shape == (n, 2) and b.y.shape == b.event.shape == (n,)
    assert b.complete.dtype == bool and set(np.unique(b.event)) <= {0.0, 1.0}
    assert np.isfinite(b.y).all() and np.isfinite(b.X_full).all() and np.isfinite(b.time).all()
    assert_array_equal(np.isnan(b.X[:, 1]), ~b.complete)
    assert_array_equal(b.y, np.minimum(b.time, b.censoring_time))
    if kw["random_state"] is not None:
        b2 = make_censored_quantile(**kw)
        assert_array_equal(b2.y, b.y)
        assert_array_equal(b2.complete, b.complete)


@given(rate=st.one_of(st.floats(-0.1, 1.1), st.floats(0, 1e-12), JUNK))
def test_fuzz_censoring_mean(rate):
    mu = _outcome(_call(censoring_mean, ("rate",), rate))
    if mu is not None:
        assert mu == np.inf if rate == 0 else math.isfinite(mu)


LOGISTIC = ("n_samples", "n_features", "n_test", "rho", "random_state")


@given(n=st.integers(0, 40), p=st.integers(0, 6), n_test=st.integers(-1, 5),
       rho=st.floats(-0.1, 1.0), seed=SEEDS,
       spoil=st.sampled_from((None, None, *LOGISTIC)), junk=JUNK)
def test_fuzz_make_logistic(n, p, n_test, rho, seed, spoil, junk):
    kw = _spoil({"n_samples": n, "n_features": p, "n_test": n_test, "rho": rho,
                 "random_state": seed}, spoil, junk)
    out = _outcome(_call(make_logistic, LOGISTIC, **kw))
    if out is None:
        return
    n, p, n_test = kw["n_samples"], kw["n_features"], kw["n_test"]
    X, y, beta = out[:3]
    assert X.shape == (n, p) and y.shape == (n,) and beta.shape == (p + 1,)
    assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1} and np.isfinite(X).all()
    assert len(out) == (5 if n_test else 3)
    if n_test:
        assert out[3].shape == (n_test, p) and out[4].shape == (n_test,)
    if kw["random_state"] is not None:
        assert_array_equal(make_logistic(**kw)[0], X)


QUANTILE = ("n_samples", "n_noise_features", "random_state", "quantile")


@given(n=st.integers(-1, 40), k=st.integers(-1, 5), q=st.one_of(st.floats(-0.5, 1.5),
                                                              st.floats()),
       seed=SEEDS, spoil=st.sampled_from((None, None, *QUANTILE)), junk=JUNK)
def test_fuzz_make_quantile_regression_and_truth(n, k, q, seed, spoil, junk):
    kw = _spoil({"n_samples": n, "n_noise_features": k, "random_state": seed,
                 "quantile": q}, spoil, junk)
    q = kw.pop("quantile")
    out = _outcome(_call(make_quantile_regression, QUANTILE, **kw))
    if out is not None:
        X, y = out
        n, k = kw["n_samples"], kw["n_noise_features"]
        assert X.shape == (n, 2 + k) and y.shape == (n,)
        assert np.isfinite(X).all() and np.isfinite(y).all()
        if kw["random_state"] is not None:
            assert_array_equal(make_quantile_regression(**kw)[1], y)
    truth = _outcome(_call(quantile_truth, ("quantile", "n_noise_features"), q,
                           kw["n_noise_features"]))
    if truth is not None:
        b0, coef = truth
        assert math.isfinite(b0) and coef.shape == (2 + kw["n_noise_features"],)
        assert (b0 < 0) == (q < 0.5) and (b0 == 0) == (q == 0.5)


@given(y=st.one_of(st.lists(st.integers(0, 4), max_size=30),
                   st.lists(st.floats(), max_size=5), st.lists(st.text(max_size=1), max_size=5),
                   JUNK),
       seed=SEEDS)
def test_fuzz_uci_multifeature_split(y, seed):
    out = _outcome(_call(uci_multifeature_split, ("y", "seed"), y, seed))
    if out is None:
        return
    tr, te = out
    labels = np.asarray(y)
    assert_array_equal(np.sort(np.r_[tr, te]), np.arange(labels.size))
    for c in np.unique(labels):  # per class, half (rounded down) goes to train
        assert np.sum(labels[tr] == c) == np.sum(labels == c) // 2
    if seed is not None:
        assert_array_equal(uci_multifeature_split(y, seed)[0], tr)


MNIST_BINARY = ("images", "labels", "digits", "dtype")


@given(shape=st.tuples(st.integers(0, 6), st.integers(0, 3)).flatmap(
           lambda np_: st.tuples(st.just(np_), st.lists(st.integers(0, 3), min_size=np_[0],
                                                        max_size=np_[0]))),
       digits=st.tuples(st.integers(-1, 3), st.integers(-1, 3)),
       dtype=st.sampled_from([np.float64, np.float32, "float32"]),
       spoil=st.sampled_from((None,) * 3 + MNIST_BINARY),
       junk=st.one_of(JUNK, st.sampled_from([np.int64, "x", np.zeros((2, 2, 2))])))
def test_fuzz_mnist_binary(shape, digits, dtype, spoil, junk):
    (n, p), labels = shape
    images = np.arange(n * p, dtype=np.uint8).reshape(n, p)
    kw = _spoil({"images": images, "labels": labels, "digits": digits, "dtype": dtype},
                spoil, junk)
    out = _outcome(_call(mnist_binary, MNIST_BINARY, **kw))
    if out is None:
        return
    X, y = out
    lab, (a, b) = np.asarray(kw["labels"]), kw["digits"]
    keep = (lab == a) | (lab == b)
    assert X.dtype == np.dtype(kw["dtype"]) and X.shape == (keep.sum(), p)
    assert_array_equal(y, (lab[keep] == b).astype(np.int64))
    np.testing.assert_allclose(X, np.asarray(kw["images"])[keep] / 255.0, rtol=1e-6)


@given(shape=st.lists(st.integers(0, 4), min_size=1, max_size=3),
       edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=3),
       cut=st.one_of(st.none(), st.integers(0, 120)), extra=st.binary(max_size=3),
       gz=st.booleans())
def test_fuzz_read_idx_corrupted_bytes(tmp_path_factory, shape, edits, cut, extra, gz):
    arr = np.arange(math.prod(shape), dtype=np.uint8).reshape(shape)
    raw = bytes([0, 0, 8, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in shape)
    data = bytearray(gzip.compress(raw + arr.tobytes(), mtime=0) if gz else raw + arr.tobytes())
    for pos, val in edits:  # overwrite bytes of the file (compressed or not)
        if pos < len(data):
            data[pos] = val
    data = bytes(data[:cut] if cut is not None else data) + extra
    path = tmp_path_factory.mktemp("idx") / ("f.gz" if gz else "f")
    path.write_bytes(data)
    # Reference: plain decompression (if the file starts with the gzip magic) and parsing.
    plain = data
    if data[:2] == b"\x1f\x8b":
        try:
            plain = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            plain = None
    expected = None if plain is None else _reference_idx(plain)
    try:
        got = read_idx(path)
    except ValueError as exc:
        event("error")
        assert str(exc).startswith(f"path: IDX file {str(path)!r}"), str(exc)
        assert expected is None, f"read_idx refused a valid file: {exc}"
        return
    event("output")
    assert expected is not None, "read_idx accepted a damaged file"
    assert got.dtype == np.uint8
    assert_array_equal(got, expected)


CELLS = st.one_of(st.sampled_from(["1.5", "-2", "3e2", " 4 ", "0"]),
                  st.sampled_from(["nan", "x", "", "inf", "0x1", "1,5", "1e999"]))


@st.composite
def _tables(draw):
    """A header width and rows of cells, most of them of the header's width."""
    header = draw(st.integers(0, 4))
    width = st.one_of(st.just(header), st.just(header), st.integers(0, 5))
    rows = draw(st.lists(width.flatmap(lambda w: st.lists(CELLS, min_size=w, max_size=w)),
                         max_size=4))
    return header, rows


@given(table=_tables())
def test_fuzz_load_lung200_tables(tmp_path_factory, table):
    header, rows = table
    root = tmp_path_factory.mktemp("lung")
    lines = [",".join(["probe"] + [f"L{j}" for j in range(header)])]
    lines += [",".join([f"g{i}"] + row) for i, row in enumerate(rows)]
    _lung(root, "\n".join(lines) + "\n")
    try:
        X, labels, _ = load_lung200(root)
    except ValueError as exc:
        event("error")
        assert str(exc).startswith("data_dir: "), str(exc)
        return
    event("output")
    # Accepted: every row has the header's width and every cell is a finite number.
    assert X.shape == (len(rows), header) and len(labels) == header and header >= 1
    assert np.isfinite(X).all()
    ref = [[float(c) for c in ",".join(r).split(",")] for r in rows]
    assert_array_equal(X, np.array(ref, dtype=float).reshape(X.shape))


# --------------------------------------------------------------------------- #
# Real data (optional)
# --------------------------------------------------------------------------- #
def _real_data(name):
    """The folder of a real data set (statoptim.datasets.find_dataset), or a skip."""
    from statoptim.datasets import find_dataset

    folder = find_dataset(name, required=False)
    if folder is None:
        pytest.skip(f"the real data set {name} is not available")
    return folder


def test_real_data_loads_with_documented_shapes():
    X, labels, probes = load_lung200(os.path.dirname(_real_data("lung200")))
    assert X.shape == (200, 56) and len(labels) == 56 and probes.shape == (200,)
    Xu, y = load_uci_multifeature(_real_data("uci_multifeature"))
    assert sorted(Xu) == sorted(ds._multiview.UCI_VIEWS) and y.shape == (2000,)
    assert all(v.shape[0] == 2000 for v in Xu.values())
    w = load_wikipedia_rasiwasia(_real_data("wikipedia_rasiwasia2010"))
    assert w["image_train"].shape == (2173, 128) and w["text_test"].shape == (693, 10)
    assert len(w["categories"]) == 10 and w["y_train"].max() == 9
    Xte, yte = load_mnist(_real_data("mnist"), kind="test")
    assert Xte.shape == (10000, 784) and yte.shape == (10000,)
    X06, y06 = mnist_binary(Xte, yte)
    assert X06.shape == (1938, 784) and y06.sum() == 958


def test_device_files_are_not_read(tmp_path):
    # /dev/zero is neither a folder nor a regular file: reading it would never end.
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero")
    with pytest.raises(ValueError, match=r"path must be an IDX file, .*not a regular file"):
        read_idx("/dev/zero")
    with pytest.raises(ValueError, match=r"directory must be a folder .*not a regular file"):
        load_uci_multifeature("/dev/zero")
