"""Tests for `beatwatch.sources`: a local HTTP server stands in for PhysioNet.

Every network access is confined to 127.0.0.1 by the autouse `_loopback_only`
fixture, so a test that would reach physionet.org fails instead.
"""

import functools
import http.server
import os
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import wfdb
from wfdb.io import download

from beatwatch.sources import (
    LocalFolderSource,
    PhysioNetSource,
    RecordingSource,
    SourceError,
    SyntheticSource,
)

FS_HZ = 360.0
DURATION_S = 3.0
DB_RECORDS = ("100", "101")
EXPECTED_DEFAULT = {f"{rec}.{ext}" for rec in DB_RECORDS for ext in ("hea", "dat", "atr")}


def _write_record(directory: Path, record: str, seed: int) -> None:
    """Write a small 2-lead, format-212 record with one beat annotation per 0.83 s."""
    rng = np.random.default_rng(seed)
    t_s = np.arange(int(DURATION_S * FS_HZ)) / FS_HZ
    wave_mv = np.column_stack([np.sin(2 * np.pi * 1.2 * t_s), 0.5 * np.cos(2 * np.pi * 1.2 * t_s)])
    signal_mv = wave_mv + 0.05 * rng.standard_normal(wave_mv.shape)
    wfdb.wrsamp(
        record,
        fs=FS_HZ,
        units=["mV", "mV"],
        sig_name=["MLII", "V5"],
        p_signal=signal_mv,
        fmt=["212", "212"],
        write_dir=str(directory),
    )
    beats = np.arange(150, t_s.size, 300)
    wfdb.wrann(record, "atr", beats, symbol=["N"] * beats.size, write_dir=str(directory))


def _make_database(directory: Path) -> Path:
    """Lay out a tiny WFDB database: two records, RECORDS, a `qrs` annotator on 100."""
    directory.mkdir(parents=True, exist_ok=True)
    for seed, record in enumerate(DB_RECORDS):
        _write_record(directory, record, seed)
    beats = np.array([160, 460, 760])
    wfdb.wrann("100", "qrs", beats, symbol=["N"] * 3, write_dir=str(directory))
    (directory / "RECORDS").write_text("".join(f"{r}\n" for r in DB_RECORDS))
    (directory / "100.xws").write_text("not part of the record\n")
    (directory / "notes.txt").write_text("unrelated\n")
    return directory


def _names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()}


@dataclass(frozen=True)
class Mirror:
    """A PhysioNet-like server: `index_url` serves `db_dir` as mitdb/1.0.0."""

    index_url: str
    db_dir: Path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep request logs out of the test output."""


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any name lookup other than the loopback address."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("127.0.0.1", "localhost"):
            raise OSError(f"test tried to reach non-loopback host {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mirror]:
    """Serve a tiny mitdb/1.0.0 over HTTP on 127.0.0.1 for the module's tests."""
    root = tmp_path_factory.mktemp("mirror")
    db_dir = _make_database(root / "files" / "mitdb" / "1.0.0")
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield Mirror(index_url=f"http://127.0.0.1:{port}/files/", db_dir=db_dir)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _assert_same_record(delivered: Path, served: Path) -> None:
    got, want = wfdb.rdrecord(str(delivered)), wfdb.rdrecord(str(served))
    assert (got.fs, got.sig_name, got.units, got.fmt) == (
        want.fs,
        want.sig_name,
        want.units,
        want.fmt,
    )
    np.testing.assert_array_equal(got.p_signal, want.p_signal)
    got_ann = wfdb.rdann(str(delivered), "atr")
    want_ann = wfdb.rdann(str(served), "atr")
    np.testing.assert_array_equal(got_ann.sample, want_ann.sample)
    assert got_ann.symbol == want_ann.symbol


# --- PhysioNetSource ---------------------------------------------------------


def test_physionet_delivers_exactly_the_record_files(mirror: Mirror, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    source = PhysioNetSource("mitdb/1.0.0", index_url=mirror.index_url)

    paths = source.deliver(inbox)

    assert paths == sorted(inbox / name for name in EXPECTED_DEFAULT)
    assert _names(inbox) == EXPECTED_DEFAULT  # no stray or temporary files
    assert _names(tmp_path) == {"inbox"}  # staging directory cleaned up
    for path in paths:
        assert path.read_bytes() == (mirror.db_dir / path.name).read_bytes()
    for record in DB_RECORDS:
        _assert_same_record(inbox / record, mirror.db_dir / record)


def test_physionet_uses_wfdb_downloader_and_restores_index_url(
    mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sentinel = "http://127.0.0.1:9/sentinel/"
    monkeypatch.setattr(download.config, "db_index_url", sentinel)
    urls_seen: list[str] = []
    real_dl_pn_file = download.dl_pn_file

    def spy(inputs: tuple[object, ...]) -> None:
        urls_seen.append(download.config.db_index_url)
        real_dl_pn_file(inputs)

    monkeypatch.setattr(download, "dl_pn_file", spy)
    source = PhysioNetSource("mitdb/1.0.0", ("100",), index_url=mirror.index_url)

    source.deliver(tmp_path / "inbox")
    assert download.config.db_index_url == sentinel
    assert urls_seen, "wfdb.io.download.dl_pn_file was not used"
    assert set(urls_seen) == {mirror.index_url}

    with pytest.raises(SourceError):
        PhysioNetSource("mitdb/1.0.0", ("nope",), index_url=mirror.index_url).deliver(
            tmp_path / "inbox"
        )
    assert download.config.db_index_url == sentinel


def test_physionet_records_and_annotators_subset(mirror: Mirror, tmp_path: Path) -> None:
    both = ("atr", "qrs")
    source = PhysioNetSource("mitdb/1.0.0", ("100",), both, mirror.index_url)
    assert _names(source.deliver(tmp_path / "a")[0].parent) == {
        "100.hea",
        "100.dat",
        "100.atr",
        "100.qrs",
    }
    # 101 has no qrs annotation: it is skipped, not an error.
    source = PhysioNetSource("mitdb/1.0.0", ("101",), ("qrs",), mirror.index_url)
    source.deliver(tmp_path / "b")
    assert _names(tmp_path / "b") == {"101.hea", "101.dat"}


def test_physionet_missing_record_names_record_and_url(mirror: Mirror, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    source = PhysioNetSource("mitdb/1.0.0", ("100", "999"), index_url=mirror.index_url)

    with pytest.raises(SourceError, match="'999'") as excinfo:
        source.deliver(inbox)

    assert f"{mirror.index_url}mitdb/1.0.0/999.hea" in str(excinfo.value)
    assert _names(inbox) == set()  # nothing published from a failed delivery
    assert _names(tmp_path) == {"inbox"}


def test_physionet_unreachable_server_raises_source_error(tmp_path: Path) -> None:
    with socket.socket() as sock:  # find a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/files/"
    source = PhysioNetSource("mitdb/1.0.0", index_url=url)

    with pytest.raises(SourceError, match=re.escape(f"{url}mitdb/1.0.0")):
        source.deliver(tmp_path / "inbox")


def test_physionet_redelivery_leaves_identical_files_untouched(
    mirror: Mirror, tmp_path: Path
) -> None:
    inbox = tmp_path / "inbox"
    source = PhysioNetSource("mitdb/1.0.0", index_url=mirror.index_url)
    source.deliver(inbox)
    old_ns = 1_000_000_000 * 10**9
    for path in inbox.iterdir():
        os.utime(path, ns=(old_ns, old_ns))
    (inbox / "101.atr").write_bytes(b"corrupted")
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}

    paths = source.deliver(inbox)

    assert paths == sorted(inbox / name for name in EXPECTED_DEFAULT)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"101.atr"}
    assert (inbox / "101.atr").read_bytes() == (mirror.db_dir / "101.atr").read_bytes()
    assert _names(inbox) == EXPECTED_DEFAULT
    assert _names(tmp_path) == {"inbox"}


def test_physionet_rejects_unpinned_version_on_a_mirror(mirror: Mirror) -> None:
    with pytest.raises(ValueError, match="pinned"):
        PhysioNetSource("mitdb", index_url=mirror.index_url)
    with pytest.raises(ValueError, match=r"mitdb/1\.0\.0"):
        PhysioNetSource("mitdb/latest", index_url=mirror.index_url)
    assert PhysioNetSource("mitdb").index_url == download.PN_INDEX_URL


# --- LocalFolderSource -------------------------------------------------------


@pytest.fixture
def local_db(tmp_path: Path) -> Path:
    return _make_database(tmp_path / "db")


def test_local_all_records_follow_records_file_or_headers(local_db: Path, tmp_path: Path) -> None:
    (local_db / "RECORDS").write_text("101\n")
    LocalFolderSource(local_db).deliver(tmp_path / "listed")
    assert _names(tmp_path / "listed") == {"101.hea", "101.dat", "101.atr"}

    (local_db / "RECORDS").unlink()
    paths = LocalFolderSource(local_db).deliver(tmp_path / "all")
    assert paths == sorted(tmp_path / "all" / name for name in EXPECTED_DEFAULT)
    assert _names(tmp_path / "all") == EXPECTED_DEFAULT
    _assert_same_record(tmp_path / "all" / "100", local_db / "100")


def test_local_records_subset_and_annotators(local_db: Path, tmp_path: Path) -> None:
    source = LocalFolderSource(local_db, records=("100",), annotators=("atr", "qrs"))
    source.deliver(tmp_path / "a")
    assert _names(tmp_path / "a") == {"100.hea", "100.dat", "100.atr", "100.qrs"}

    LocalFolderSource(local_db, records=("101",), annotators=()).deliver(tmp_path / "b")
    assert _names(tmp_path / "b") == {"101.hea", "101.dat"}


def test_local_redelivery_and_missing_files(local_db: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    source = LocalFolderSource(local_db)
    source.deliver(inbox)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}
    source.deliver(inbox)
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}
    assert after == before

    with pytest.raises(SourceError, match="'999'"):
        LocalFolderSource(local_db, records=("999",)).deliver(tmp_path / "x")
    (local_db / "101.dat").unlink()
    with pytest.raises(SourceError, match=r"'101'.*101\.dat"):
        source.deliver(tmp_path / "y")
    assert _names(tmp_path / "y") == set()
    assert {p.name for p in tmp_path.iterdir()} == {"db", "inbox", "x", "y"}


# --- SyntheticSource and the protocol ------------------------------------------


def test_synthetic_source_writes_readable_seeded_records(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    source = SyntheticSource(records=2, seed=3, fs_hz=250.0, duration_s=12.0)

    paths = source.deliver(inbox)

    assert paths == sorted(inbox / name for name in _names(inbox))
    headers = sorted(p for p in paths if p.suffix == ".hea")
    assert len(headers) == 2
    for header in headers:
        record = wfdb.rdrecord(str(header.with_suffix("")))
        assert record.fs == 250.0
        assert record.sig_len == 12 * 250
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}
    assert source.deliver(inbox) == paths
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in inbox.iterdir()}
    assert after == before  # same seed, same bytes: nothing rewritten
    assert _names(tmp_path) == {"inbox"}


def test_every_source_satisfies_the_protocol(tmp_path: Path) -> None:
    sources = [
        LocalFolderSource(tmp_path),
        PhysioNetSource("mitdb/1.0.0"),
        SyntheticSource(),
    ]
    assert all(isinstance(source, RecordingSource) for source in sources)
    assert [source.name for source in sources] == ["local", "physionet", "synthetic"]
    with pytest.raises(ValueError, match="positive"):
        SyntheticSource(records=0)


def test_cli_fetch_from_the_mirror_then_error_for_a_missing_record(
    mirror: Mirror, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from beatwatch.cli import app

    args = ["fetch", "mitdb/1.0.0", "--index-url", mirror.index_url, "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--records", "100"])
    assert result.exit_code == 0, result.output
    assert _names(tmp_path / "inbox") == {"100.hea", "100.dat", "100.atr"}

    missing = CliRunner().invoke(app, [*args, "--records", "999"])
    assert missing.exit_code == 2
    assert "999" in missing.output


def test_cli_fetch_from_a_folder(local_db: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from beatwatch.cli import app

    inbox = tmp_path / "drop"
    result = CliRunner().invoke(
        app, ["fetch", "--from-folder", str(local_db), "--records", "101", "--inbox", str(inbox)]
    )
    assert result.exit_code == 0, result.output
    assert _names(inbox) == {"101.hea", "101.dat", "101.atr"}
