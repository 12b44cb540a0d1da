"""Find WFDB record deliveries in an inbox folder, and what else lies there.

A *delivery* is one WFDB record as PhysioNet publishes it: a header ``<name>.hea``, the signal
files the header names, an optional reference annotation file ``<name>.<annotator>`` and any
other files sharing the record's name. Files that belong to no header are *strays*.
PhysioNet's database index files (``RECORDS``, ``SHA256SUMS.txt``, ...) are left alone; where a
``SHA256SUMS.txt`` is present, every delivered file is checked against it.

What a scan refuses to touch, or leaves for a later run:

* dot-files, dot-folders and ``*.part``/``*.tmp``/``*.partial`` files: deliveries in progress,
  not looked at;
* files still being written: with ``settle_s > 0``, every file is looked at twice, at least
  ``settle_s`` seconds apart when it changed recently; a delivery with a file that grew,
  changed or vanished in between *waits* in the inbox for the next run;
* symbolic links that lead out of the inbox (or nowhere) are never followed: they are strays,
  and quarantine moves the link, never its target.

Record names are WFDB's: ASCII letters, digits, ``_`` and ``-`` (wfdb cannot read others, and
misreads the header of a record named with a space or a non-ASCII letter); folder names may
be anything.

Scanning only reads: nothing in the inbox is moved or changed here.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import wfdb

from beatwatch.digests import (
    FileDigest,
    combine_digests,
    digest_file,
    file_identity,
    read_checksums,
)
from beatwatch.errors import RejectedInput

PHYSIONET_INDEX_FILES = frozenset(
    {"RECORDS", "ANNOTATORS", "SHA256SUMS.txt", "LICENSE.txt", "DBS", "index.html", "README"}
)
"""Database-level files PhysioNet publishes beside the records; never quarantined."""

RECORD_NAME = re.compile(r"[A-Za-z0-9_-]+")
"""A WFDB record name (ASCII only: wfdb's header parser reads nothing else)."""

_PARTIAL_SUFFIXES = frozenset({".part", ".tmp", ".partial"})


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
        return combine_digests((d.path.name, d.sha256) for d in self.digests)

    @property
    def signal_sha256(self) -> str:
        """SHA-256 over the signal files' contents only, independent of names.

        Two deliveries with the same value carry the same samples, whatever they are called.
        """
        by_path = {d.path: d.sha256 for d in self.digests}
        return combine_digests(("", by_path.get(p, "missing")) for p in self.signal_files)


@dataclass(frozen=True)
class Stray:
    """A file in the inbox that belongs to no record."""

    path: Path
    reason: str
    kind: str
    sha256: str | None = None
    """The file's identity (:func:`file_identity`), when the scan computed it."""


@dataclass(frozen=True)
class Waiting:
    """A delivery (or stray file) left in the inbox for a later run, and why."""

    path: Path
    """The record's header, or the stray file."""
    record: str | None
    reason: str


@dataclass(frozen=True)
class InboxScan:
    """Everything a scan of the inbox found."""

    inbox: Path
    records: tuple[RecordDelivery, ...]
    strays: tuple[Stray, ...]
    index_files: tuple[Path, ...] = field(default=())
    waiting: tuple[Waiting, ...] = field(default=())
    """Deliveries still being written: left alone this run, looked at again the next."""


def scan_inbox(inbox: Path, *, annotator: str = "atr", settle_s: float = 0.0) -> InboxScan:
    """List the record deliveries (oldest first) and stray files in ``inbox``, recursively.

    Parameters
    ----------
    inbox
        Folder to scan. A missing inbox scans as empty.
    annotator
        Extension of the reference annotation file (``"atr"`` for PhysioNet databases).
    settle_s
        Seconds a file must stay unchanged to count as delivered (0: no check). Files changed
        within this time are looked at again once it has passed (the scan then waits, at most
        ``settle_s``); a delivery whose files changed in between waits for the next run.
    """
    if not inbox.is_dir():
        return InboxScan(inbox=inbox, records=(), strays=())
    files, link_strays = _walk(inbox)
    first_look = {p: key for p in files if (key := _stat_key(p)) is not None}
    looked_at = time.time()
    files = [p for p in files if p in first_look]  # gone already: nothing to do
    index_files = tuple(p for p in files if p.name in PHYSIONET_INDEX_FILES)
    checksums: dict[Path, str] = {}
    for index in index_files:
        if index.name == "SHA256SUMS.txt":
            sums = read_checksums(index)
            checksums.update({(index.parent / name).resolve(): sha for name, sha in sums.items()})

    candidates = [p for p in files if p.name not in PHYSIONET_INDEX_FILES]
    claimed: set[Path] = set()
    records: list[RecordDelivery] = []
    # Oldest delivery first: when two deliveries carry the same samples, the earlier one is
    # the original and the later one the duplicate.
    headers = sorted(
        (p for p in candidates if p.suffix == ".hea"), key=lambda p: (first_look[p][1], p)
    )
    for header in headers:
        delivery = _delivery_for(header, candidates, annotator, checksums, first_look)
        claimed.update(delivery.files)
        records.append(delivery)
    strays = [_describe_stray(p, first_look[p][0]) for p in candidates if p not in claimed]

    # Anything that changed while we looked is still being delivered: leave it for next time.
    changed = _still_changing(first_look, looked_at, settle_s)
    later = "still being delivered, left in the inbox for the next run"
    waiting: list[Waiting] = []
    for d in list(records):
        busy = [changed[p] for p in d.files if p in changed]
        if busy:
            records.remove(d)
            waiting.append(Waiting(d.header, d.name, f"{'; '.join(busy)}: {later}"))
    for s in list(strays):
        if s.path in changed:
            strays.remove(s)
            waiting.append(Waiting(s.path, None, f"{changed[s.path]}: {later}"))
    return InboxScan(
        inbox=inbox,
        records=tuple(records),
        strays=(*link_strays, *strays),
        index_files=index_files,
        waiting=tuple(waiting),
    )


def _walk(inbox: Path) -> tuple[list[Path], list[Stray]]:
    """Regular files under ``inbox`` (sorted), and the symbolic links never to follow.

    Dot-folders, dot-files and partial files are skipped. A link to a file inside the inbox
    is read like the file; a link to a folder inside the inbox is skipped (the folder itself
    is scanned); links leading out of the inbox, or nowhere, are strays.
    """
    root = inbox.resolve()
    files: list[Path] = []
    strays: list[Stray] = []
    for folder, dirnames, filenames in os.walk(inbox):  # never follows links to folders
        here = Path(folder)
        for name in list(dirnames):
            path = here / name
            if name.startswith(".") or path.is_symlink():
                dirnames.remove(name)
                if not name.startswith("."):
                    stray = _link_stray(path, root)
                    strays += [stray] if stray is not None else []
        for name in filenames:
            path = here / name
            if name.startswith(".") or path.suffix in _PARTIAL_SUFFIXES:
                continue
            if path.is_symlink():
                stray = _link_stray(path, root)
                if stray is not None:
                    strays.append(stray)
                    continue
            if path.is_file():
                files.append(path)
    return sorted(files), sorted(strays, key=lambda s: s.path)


def _link_stray(path: Path, root: Path) -> Stray | None:
    """A stray for a link leading out of the inbox or nowhere; ``None`` for a link inside."""
    target = os.readlink(path)
    resolved = path.resolve()
    identity = file_identity(path)
    if not resolved.exists():
        return Stray(
            path, f"broken symbolic link to {target}: nothing to read", "broken_symlink", identity
        )
    if not resolved.is_relative_to(root):
        return Stray(
            path,
            f"symbolic link to {resolved}, outside the inbox: not followed; "
            "deliver the files themselves",
            "symlink_outside_inbox",
            identity,
        )
    return None


def _stat_key(path: Path) -> tuple[int, int] | None:
    """(size in bytes, modification time in ns), or ``None`` if the file is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _still_changing(
    first_look: Mapping[Path, tuple[int, int]], looked_at: float, settle_s: float
) -> dict[Path, str]:
    """Files that changed, or vanished, since ``first_look``; each with what changed.

    When any file had changed less than ``settle_s`` before the first look, waits until
    ``settle_s`` has passed since it (at most ``settle_s``); files older than that are taken
    as delivered unless they change during the scan itself.
    """
    if settle_s <= 0:
        return {}
    newest_ns = max((mtime_ns for _, mtime_ns in first_look.values()), default=0)
    if looked_at - newest_ns / 1e9 < settle_s:
        time.sleep(max(0.0, min(settle_s, looked_at + settle_s - time.time())))
    changed: dict[Path, str] = {}
    for path, before in first_look.items():
        after = _stat_key(path)
        if after is None:
            changed[path] = f"{path.name} vanished during the scan"
        elif after != before:
            grew = f" ({before[0]} -> {after[0]} bytes)" if after[0] != before[0] else ""
            changed[path] = f"{path.name} changed during the scan{grew}"
    return changed


def _delivery_for(
    header: Path,
    candidates: list[Path],
    annotator: str,
    checksums: Mapping[Path, str],
    stats: Mapping[Path, tuple[int, int]],
) -> RecordDelivery:
    name = header.stem
    folder = header.parent
    same_stem = [p for p in candidates if p.parent == folder and p.name.split(".")[0] == name]
    problem: RejectedInput | None = None
    signal_files: tuple[Path, ...] = ()
    if not RECORD_NAME.fullmatch(name):
        problem = RejectedInput(
            header,
            f"record name {name!r} is not a WFDB record name (ASCII letters, digits, '_' and "
            "'-' only; wfdb cannot read it): rename the record's files and its header's "
            "first line",
            kind="bad_record_name",
        )
        same_stem = [p for p in candidates if p.parent == folder and p.name.startswith(f"{name}.")]
    elif stats[header][0] == 0:
        problem = RejectedInput(
            header, "empty file: a WFDB header cannot be empty", kind="empty_file"
        )
    elif (error := _unreadable(header)) is not None:
        problem = RejectedInput(header, _unreadable_reason(error), kind="unreadable_file")
    else:
        try:
            parsed = wfdb.rdheader(str(folder / name))
        except Exception as exc:  # wfdb raises a zoo of types for malformed headers
            problem = RejectedInput(
                header, f"corrupt header, wfdb cannot parse it ({exc})", kind="corrupt_header"
            )
        else:
            problem = _header_problem(header, parsed)
            if problem is None:
                signal_files = tuple(dict.fromkeys(folder / f for f in (parsed.file_name or [])))
    annotation = folder / f"{name}.{annotator}"
    delivered = set(candidates)
    group = sorted(set(same_stem) | {p for p in signal_files if p in delivered})
    digests = tuple(digest_file(p) for p in group)

    if problem is None:
        problem = _first_problem(header, signal_files, digests, checksums, delivered)
    return RecordDelivery(
        name=name,
        header=header,
        signal_files=signal_files,
        annotation_file=annotation if annotation in delivered else None,
        digests=digests,
        problem=problem,
    )


def _header_problem(header: Path, parsed: object) -> RejectedInput | None:
    """Defects of a header wfdb parsed: multi-segment, or naming another record."""
    if isinstance(parsed, wfdb.MultiRecord):
        segments = [s for s in (parsed.seg_name or []) if s != "~"]
        return RejectedInput(
            header,
            f"multi-segment record ({len(segments)} segments: {', '.join(segments[:5])}"
            f"{', ...' if len(segments) > 5 else ''}): Beatwatch reads single-segment records "
            "only; deliver each segment as a record of its own",
            kind="multi_segment",
        )
    declared = getattr(parsed, "record_name", None)
    if declared != header.stem:
        return RejectedInput(
            header,
            f"header's first line names record {declared!r}, but the file is {header.name}: "
            "the header belongs to another record, or was renamed without its first line",
            kind="record_name_mismatch",
        )
    return None


def _unreadable(path: Path) -> str | None:
    """Why ``path`` cannot be opened for reading (e.g. ``Permission denied``), else ``None``."""
    try:
        with path.open("rb"):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _unreadable_reason(error: str) -> str:
    return f"cannot be read ({error}): fix its permissions, or deliver it again"


def _first_problem(
    header: Path,
    signal_files: tuple[Path, ...],
    digests: tuple[FileDigest, ...],
    checksums: Mapping[Path, str],
    delivered: set[Path],
) -> RejectedInput | None:
    if not signal_files:
        return RejectedInput(header, "header names no signal file", kind="no_signal_file")
    for path in signal_files:
        if path not in delivered and path.is_symlink():
            return RejectedInput(
                header,
                f"header names signal file {path.name!r}, a symbolic link out of the inbox "
                "(not followed)",
                kind="symlink_outside_inbox",
            )
        if path not in delivered:
            return RejectedInput(
                header,
                f"header names signal file {path.name!r}, which was not delivered",
                kind="missing_signal_file",
            )
    for d in digests:
        if d.error is not None:
            return RejectedInput(d.path, _unreadable_reason(d.error), kind="unreadable_file")
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


def _describe_stray(path: Path, size: int) -> Stray:
    identity = file_identity(path)
    if size == 0:
        return Stray(path, "empty file, and no WFDB header names it", "empty_file", identity)
    if path.suffix == ".dat":
        return Stray(
            path, f"signal file without a header: no {path.stem}.hea", "orphan_signal", identity
        )
    if path.suffix in {".atr", ".qrs", ".ecg", ".ari"}:
        return Stray(
            path,
            f"annotation file without a record: no {path.name.split('.')[0]}.hea",
            "orphan_annotation",
            identity,
        )
    return Stray(path, "not part of any WFDB record (not an ECG file?)", "not_ecg", identity)
