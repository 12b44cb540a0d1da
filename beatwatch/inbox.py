"""Find WFDB record deliveries in an inbox folder, and what else lies there.

A *delivery* is one WFDB record as PhysioNet publishes it: a header ``<name>.hea``, the signal
files the header names, an optional reference annotation file ``<name>.<annotator>`` and any
other files sharing the record's name. Files that belong to no header are *strays*.
PhysioNet's database index files (``RECORDS``, ``SHA256SUMS.txt``, ...) are left alone; where a
``SHA256SUMS.txt`` is present, every delivered file is checked against it.

Scanning only reads: nothing in the inbox is moved or changed here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import wfdb

from beatwatch.errors import RejectedInput

PHYSIONET_INDEX_FILES = frozenset(
    {"RECORDS", "ANNOTATORS", "SHA256SUMS.txt", "LICENSE.txt", "DBS", "index.html", "README"}
)
"""Database-level files PhysioNet publishes beside the records; never quarantined."""

_HASH_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileDigest:
    """Identity of one delivered file: its path, size in bytes and SHA-256 (hex)."""

    path: Path
    bytes: int
    sha256: str


@dataclass(frozen=True)
class RecordDelivery:
    """One WFDB record found in the inbox, with every file that travels with it."""

    name: str
    header: Path
    signal_files: tuple[Path, ...]
    """Signal files named in the header, in header order, whether they exist or not."""
    annotation_file: Path | None
    """The reference annotation file ``<name>.<annotator>``, if delivered."""
    digests: tuple[FileDigest, ...]
    """Every delivered file of the record (header, signals, annotations, others)."""
    problem: RejectedInput | None = None
    """A defect found while scanning (unreadable header, missing signal file, ...)."""

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(d.path for d in self.digests)

    @property
    def content_sha256(self) -> str:
        """SHA-256 over the sorted (file name, file SHA-256) pairs: the delivery's identity."""
        return _combine((d.path.name, d.sha256) for d in self.digests)

    @property
    def signal_sha256(self) -> str:
        """SHA-256 over the signal files' contents only, independent of names.

        Two deliveries with the same value carry the same samples, whatever they are called.
        """
        by_path = {d.path: d.sha256 for d in self.digests}
        return _combine(("", by_path.get(p, "missing")) for p in self.signal_files)


@dataclass(frozen=True)
class Stray:
    """A file in the inbox that belongs to no record."""

    path: Path
    reason: str
    kind: str


@dataclass(frozen=True)
class InboxScan:
    """Everything a scan of the inbox found."""

    inbox: Path
    records: tuple[RecordDelivery, ...]
    strays: tuple[Stray, ...]
    index_files: tuple[Path, ...] = field(default=())


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _combine(pairs: Iterable[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, sha in sorted(pairs):
        digest.update(f"{name}\0{sha}\n".encode())
    return digest.hexdigest()


def _is_hidden_or_partial(path: Path, inbox: Path) -> bool:
    """Dot-files, dot-folders and ``*.part``/``*.tmp`` files are deliveries in progress."""
    parts = path.relative_to(inbox).parts
    return any(p.startswith(".") for p in parts) or path.suffix in {".part", ".tmp", ".partial"}


def _read_checksums(index: Path) -> dict[str, str]:
    """Parse a PhysioNet ``SHA256SUMS.txt`` into {relative path: sha256}."""
    sums: dict[str, str] = {}
    for line in index.read_text(encoding="utf-8", errors="replace").splitlines():
        sha, _, name = line.strip().partition(" ")
        if len(sha) == 64 and name:
            sums[name.strip().lstrip("*")] = sha.lower()
    return sums


def scan_inbox(inbox: Path, *, annotator: str = "atr") -> InboxScan:
    """List the record deliveries (oldest first) and stray files in ``inbox``, recursively.

    Parameters
    ----------
    inbox
        Folder to scan. A missing inbox scans as empty.
    annotator
        Extension of the reference annotation file (``"atr"`` for PhysioNet databases).
    """
    if not inbox.is_dir():
        return InboxScan(inbox=inbox, records=(), strays=())
    files = sorted(
        p for p in inbox.rglob("*") if p.is_file() and not _is_hidden_or_partial(p, inbox)
    )
    index_files = tuple(p for p in files if p.name in PHYSIONET_INDEX_FILES)
    checksums: dict[Path, str] = {}
    for index in index_files:
        if index.name == "SHA256SUMS.txt":
            sums = _read_checksums(index)
            checksums.update({(index.parent / name).resolve(): sha for name, sha in sums.items()})

    candidates = [p for p in files if p.name not in PHYSIONET_INDEX_FILES]
    claimed: set[Path] = set()
    records: list[RecordDelivery] = []
    # Oldest delivery first: when two deliveries carry the same samples, the earlier one is
    # the original and the later one the duplicate.
    headers = sorted(
        (p for p in candidates if p.suffix == ".hea"), key=lambda p: (p.stat().st_mtime_ns, p)
    )
    for header in headers:
        delivery = _delivery_for(header, candidates, annotator, checksums)
        claimed.update(delivery.files)
        records.append(delivery)

    strays = tuple(_describe_stray(p) for p in candidates if p not in claimed)
    return InboxScan(inbox=inbox, records=tuple(records), strays=strays, index_files=index_files)


def _delivery_for(
    header: Path, candidates: list[Path], annotator: str, checksums: Mapping[Path, str]
) -> RecordDelivery:
    name = header.stem
    folder = header.parent
    same_stem = [p for p in candidates if p.parent == folder and p.name.split(".")[0] == name]
    problem: RejectedInput | None = None
    signal_files: tuple[Path, ...] = ()
    if header.stat().st_size == 0:
        problem = RejectedInput(
            header, "empty file: a WFDB header cannot be empty", kind="empty_file"
        )
    else:
        try:
            parsed = wfdb.rdheader(str(folder / name))
            signal_files = tuple(dict.fromkeys(folder / f for f in (parsed.file_name or [])))
        except Exception as exc:  # wfdb raises a zoo of types for malformed headers
            problem = RejectedInput(
                header, f"corrupt header, wfdb cannot parse it ({exc})", kind="corrupt_header"
            )
    annotation = folder / f"{name}.{annotator}"
    group = sorted(set(same_stem) | {p for p in signal_files if p.is_file()})
    digests = tuple(FileDigest(p, p.stat().st_size, sha256_file(p)) for p in group)

    if problem is None:
        problem = _first_problem(header, signal_files, digests, checksums)
    return RecordDelivery(
        name=name,
        header=header,
        signal_files=signal_files,
        annotation_file=annotation if annotation.is_file() else None,
        digests=digests,
        problem=problem,
    )


def _first_problem(
    header: Path,
    signal_files: tuple[Path, ...],
    digests: tuple[FileDigest, ...],
    checksums: Mapping[Path, str],
) -> RejectedInput | None:
    if not signal_files:
        return RejectedInput(header, "header names no signal file", kind="no_signal_file")
    for path in signal_files:
        if not path.is_file():
            return RejectedInput(
                header,
                f"header names signal file {path.name!r}, which was not delivered",
                kind="missing_signal_file",
            )
    for d in digests:
        if d.bytes == 0:
            return RejectedInput(d.path, "empty file", kind="empty_file")
        expected = checksums.get(d.path.resolve())
        if expected is not None and expected != d.sha256:
            return RejectedInput(
                d.path,
                f"SHA-256 {d.sha256[:12]}... differs from SHA256SUMS.txt ({expected[:12]}...): "
                "the file was damaged in transfer",
                kind="checksum_mismatch",
            )
    return None


def _describe_stray(path: Path) -> Stray:
    size = path.stat().st_size
    if size == 0:
        return Stray(path, "empty file, and no WFDB header names it", "empty_file")
    if path.suffix == ".dat":
        return Stray(path, f"signal file without a header: no {path.stem}.hea", "orphan_signal")
    if path.suffix in {".atr", ".qrs", ".ecg", ".ari"}:
        return Stray(
            path,
            f"annotation file without a record: no {path.name.split('.')[0]}.hea",
            "orphan_annotation",
        )
    return Stray(path, "not part of any WFDB record (not an ECG file?)", "not_ecg")
