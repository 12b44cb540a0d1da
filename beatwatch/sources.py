"""Recording sources: deliver WFDB record files into a local inbox folder.

A source places the files of its records (``.hea`` header, the signal files the
header names, annotation files) into a flat inbox directory that the pipeline
scans. Files are staged in a temporary directory beside the inbox (same
filesystem) and moved in with :func:`os.replace`, signal and annotation files
before the header, so a concurrent scan never sees half a file or a header
without its signals. A failed delivery publishes nothing. Files already in the
inbox with identical content are left untouched (same inode and mtime).
"""

import filecmp
import os
import posixpath
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import wfdb
from wfdb.io import download

_INDEX_URL_LOCK = threading.RLock()


class SourceError(RuntimeError):
    """A source could not deliver; the message names the record or URL and why."""


@runtime_checkable
class RecordingSource(Protocol):
    """Something that delivers WFDB record files into an inbox directory."""

    name: str

    def deliver(self, inbox: Path) -> list[Path]:
        """Place this source's record files into `inbox` (created if missing).

        Files are written atomically (staged on the same filesystem, then
        ``os.replace``) so a concurrent inbox scan never sees half a file.
        Existing identical files are left alone.

        Parameters
        ----------
        inbox : Path
            Flat directory that receives the record files.

        Returns
        -------
        list of Path
            Sorted inbox paths of all delivered files, identical old ones included.
        """
        ...


def _stage_records(
    records: Iterable[str],
    annotators: Sequence[str],
    read_header: Callable[[str], Any],
    fetch: Callable[[str, Path], object],
    where: str,
    staging: Path,
) -> list[Path]:
    """Fetch every file of `records` into `staging`; return them in publish order.

    ``read_header(name)`` gives a ``wfdb.Record`` or ``MultiRecord``; ``fetch(name,
    dest)`` copies one file (FileNotFoundError is tolerated for annotations only).
    The record header comes last, so a scan finds it only once its files are in.
    """
    staged: list[Path] = []
    for record in records:
        try:
            header = read_header(record)
            data, headers = [], []
            if isinstance(header, wfdb.MultiRecord):
                for segment in (s for s in header.seg_name if s != "~"):
                    headers.append(f"{segment}.hea")
                    if not segment.endswith("_layout"):
                        data.extend(read_header(segment).file_name or [])
            else:
                data.extend(header.file_name or [])
        except (OSError, ValueError) as exc:
            url = f"{where}/{record}.hea"
            raise SourceError(f"record {record!r}: cannot read {url}: {exc}") from exc
        annotations = [f"{record}.{ext}" for ext in annotators]
        for name in dict.fromkeys([*data, *annotations, *headers, f"{record}.hea"]):
            if not name or "/" in name or "\\" in name or name.startswith("."):
                raise SourceError(f"{name!r}: records must lie flat in one folder")
            if staging / name in staged:
                continue
            try:
                fetch(name, staging / name)
            except OSError as exc:
                if isinstance(exc, FileNotFoundError) and name in annotations:
                    continue  # this record has no annotation of that kind
                msg = f"record {record!r}: cannot fetch {where}/{name}: {exc}"
                raise SourceError(msg) from exc
            staged.append(staging / name)
    return staged


@contextmanager
def _staging_dir(inbox: Path) -> Iterator[Path]:
    """Create `inbox` and yield a temporary directory beside it (same filesystem)."""
    inbox.mkdir(parents=True, exist_ok=True)
    prefix = f".{inbox.name}.staging-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=inbox.parent) as tmp:
        yield Path(tmp)


def _publish(staged: Sequence[Path], inbox: Path) -> list[Path]:
    """Move staged files into `inbox` in the given order, skipping identical ones."""
    delivered = []
    for path in staged:
        target = inbox / path.name
        same = target.is_file() and path.stat().st_size == target.stat().st_size
        if not (same and filecmp.cmp(path, target, shallow=False)):
            os.replace(path, target)
        delivered.append(target)
    return sorted(delivered)


@contextmanager
def _wfdb_index_url(index_url: str) -> Iterator[None]:
    """Point wfdb's module-level index URL at `index_url`, restoring it afterwards.

    The lock serialises this module's sources, not other readers of wfdb's config.
    """
    with _INDEX_URL_LOCK:
        previous = download.config.db_index_url
        download.set_db_index_url(index_url)
        try:
            yield
        finally:
            download.set_db_index_url(previous)


@dataclass(frozen=True)
class LocalFolderSource:
    """Copy WFDB records from a local folder.

    Parameters
    ----------
    folder : Path
        Flat folder holding the records.
    records : tuple of str, optional
        Record names to copy; ``None`` means every record in ``folder/RECORDS``,
        or every ``*.hea`` stem if there is no RECORDS file.
    annotators : tuple of str
        Annotation file extensions to copy where present (e.g. ``"atr"``).
    name : str
        Source name used in logs and lineage.
    """

    folder: Path
    records: tuple[str, ...] | None = None
    annotators: tuple[str, ...] = ("atr",)
    name: str = "local"

    def record_names(self) -> list[str]:
        """Return the names of the records this source delivers."""
        if self.records is not None:
            return list(self.records)
        listing = self.folder / "RECORDS"
        if listing.is_file():
            return [ln.strip() for ln in listing.read_text().splitlines() if ln.strip()]
        return sorted(path.stem for path in self.folder.glob("*.hea"))

    def deliver(self, inbox: Path) -> list[Path]:
        """Copy the selected records into `inbox`; see `RecordingSource.deliver`."""
        with _staging_dir(inbox) as staging:
            staged = _stage_records(
                self.record_names(),
                self.annotators,
                lambda name: wfdb.rdheader(str(self.folder / name)),
                lambda name, dest: shutil.copyfile(self.folder / name, dest),
                str(self.folder),
                staging,
            )
            return _publish(staged, inbox)


@dataclass(frozen=True)
class PhysioNetSource:
    """Download WFDB records from PhysioNet (or a mirror) with wfdb's downloader.

    Parameters
    ----------
    database : str
        Database slug with an optional pinned version: ``"mitdb"`` or
        ``"mitdb/1.0.0"``. An unpinned version is resolved by
        ``wfdb.io.download.get_version``, which always asks physionet.org, so a
        custom `index_url` needs a pinned version.
    records : tuple of str, optional
        Record names; ``None`` means all records in the database's RECORDS file.
    annotators : tuple of str
        Annotation extensions to fetch where the record has them (e.g. ``"atr"``).
    index_url : str
        Base URL serving ``<db>/<version>/<file>``; PhysioNet's by default.
    name : str
        Source name used in logs and lineage.
    """

    database: str
    records: tuple[str, ...] | None = None
    annotators: tuple[str, ...] = ("atr",)
    index_url: str = download.PN_INDEX_URL
    name: str = "physionet"

    def __post_init__(self) -> None:
        slug, _, version = self.database.strip("/").partition("/")
        pinned = "." in version and "/" not in version
        on_physionet = self.index_url.rstrip("/") == download.PN_INDEX_URL.rstrip("/")
        if not slug or (version and not pinned) or not (pinned or on_physionet):
            raise ValueError(
                "database must be 'mitdb' or 'mitdb/1.0.0' (pinned for a mirror), "
                f"got {self.database!r} for {self.index_url}"
            )

    def deliver(self, inbox: Path) -> list[Path]:
        """Download the selected records into `inbox`; see `RecordingSource.deliver`.

        Raises
        ------
        SourceError
            If the database, a record or one of its files cannot be fetched.
        """
        slug, _, version = self.database.strip("/").partition("/")
        with _wfdb_index_url(self.index_url), _staging_dir(inbox) as staging:
            try:
                # '<slug>/<version>' keeps wfdb from asking physionet.org for a version.
                db_dir = f"{slug}/{version or download.get_version(slug)}"
                db_url = posixpath.join(download.config.db_index_url, db_dir)
                wanted = "all" if self.records is None else list(self.records)
                names = download.get_record_list(db_dir, wanted)
            except (OSError, ValueError, IndexError) as exc:
                url = posixpath.join(self.index_url, self.database)
                raise SourceError(f"cannot list the records of {url}: {exc}") from exc
            staged = _stage_records(
                [n.strip() for n in names if n.strip()],
                self.annotators,
                lambda name: wfdb.rdheader(name, pn_dir=db_dir),
                # wfdb builds <index_url>/<db_dir>/<file> and downloads it whole.
                lambda name, dest: download.dl_pn_file(
                    (name, "", db_dir, str(dest.parent), False, True)
                ),
                db_url,
                staging,
            )
            return _publish(staged, inbox)


DEMO_START = datetime(2026, 11, 21, 22, 0, 0)
"""Header start time of the first synthetic record (the others follow 10 minutes apart);
fixed, so the same seed always writes the same bytes."""


@dataclass(frozen=True)
class SyntheticSource:
    """Write seeded synthetic ECG records made by `beatwatch.synthetic`.

    Parameters
    ----------
    records : int
        Number of records to generate.
    seed : int
        Random seed; the same seed gives the same records.
    fs_hz : float
        Sampling frequency in Hz.
    duration_s : float
        Length of each record in seconds.
    name : str
        Source name used in logs and lineage.
    """

    records: int = 4
    seed: int = 7
    fs_hz: float = 360.0
    duration_s: float = 300.0
    name: str = "synthetic"

    def __post_init__(self) -> None:
        if self.records < 1 or self.fs_hz <= 0 or self.duration_s <= 0:
            raise ValueError(f"records, fs_hz and duration_s must be positive: {self}")

    def deliver(self, inbox: Path) -> list[Path]:
        """Generate the records into `inbox`; see `RecordingSource.deliver`."""
        from beatwatch.synthetic import demo_recordings, write_wfdb_record

        recordings = demo_recordings(
            self.records, seed=self.seed, fs_hz=self.fs_hz, duration_s=self.duration_s
        )
        with _staging_dir(inbox) as staging:
            staged: list[Path] = []
            for i, (record_name, recording) in enumerate(recordings.items()):
                start = DEMO_START + timedelta(minutes=10 * i)
                written = write_wfdb_record(recording, staging, record_name, start=start)
                # Header last, so a scan never finds a header before its signal file.
                staged += sorted(map(Path, written), key=lambda p: p.suffix == ".hea")
            return _publish(staged, inbox)
