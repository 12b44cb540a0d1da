"""Move rejected deliveries out of the inbox, keeping every byte and the reason beside them.

Each rejection gets its own folder ``<data>/quarantine/<UTC time>_<name>_<kind>/`` holding
the original files (same names, same relative paths as in the inbox) and ``reason.json``.
Nothing is ever deleted. Where the inbox cannot be written (a read-only mount), the files are
copied instead and the originals left where they are; the content hash recorded in the
warehouse keeps the same delivery from being quarantined again on the next night. A symbolic
link is moved (or copied) as the link itself: its target is never touched or read. A file that
can be neither moved nor copied (unreadable, in a read-only inbox) stays where it is, with
its reason in ``reason.json`` all the same.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Rejection:
    """A delivery (or a stray file) the pipeline refuses, and why."""

    record: str | None
    """Record name, or ``None`` for a file that belongs to no record."""
    kind: str
    """Short stable category, e.g. ``truncated_signal``, ``duplicate``, ``validation_failed``."""
    reason: str
    """For a person: what is wrong, naming the file."""
    failed_file: Path
    files: tuple[Path, ...]
    """Every file to move out of the inbox together."""
    content_sha256: str | None = None

    @property
    def message(self) -> str:
        """The reason, led by the name of the file at fault: what an operator reads."""
        return f"{self.failed_file.name}: {self.reason}"


@dataclass(frozen=True)
class QuarantineEntry:
    """Where a rejection went; one row of the ``quarantine`` table."""

    quarantined_at: datetime
    run_id: str
    record: str | None
    kind: str
    reason: str
    """``Rejection.message``: the file at fault, then what is wrong with it."""
    failed_file: str
    original_paths: tuple[str, ...]
    quarantine_path: str
    content_sha256: str | None
    moved: bool
    """False when the inbox was read-only and the files were copied, not moved."""


def quarantine(
    rejection: Rejection, *, inbox: Path, quarantine_dir: Path, run_id: str
) -> QuarantineEntry:
    """Move ``rejection.files`` from ``inbox`` into a new quarantine folder with its reason.

    ``reason.json`` is written before anything moves, so an interrupted quarantine still
    leaves the reason beside whatever was moved.
    """
    now = datetime.now(UTC)
    label = rejection.record or rejection.failed_file.name
    folder = quarantine_dir / f"{now:%Y%m%dT%H%M%S%fZ}_{_safe(label)}_{rejection.kind}"
    folder.mkdir(parents=True, exist_ok=False)
    entry = QuarantineEntry(
        quarantined_at=now,
        run_id=run_id,
        record=rejection.record,
        kind=rejection.kind,
        reason=rejection.message,
        failed_file=str(rejection.failed_file),
        original_paths=tuple(str(p) for p in rejection.files),
        quarantine_path=str(folder),
        content_sha256=rejection.content_sha256,
        moved=True,
    )
    _write_reason(folder, entry)
    moved = True
    for src in rejection.files:
        dst = folder / _relative_to(src, inbox)
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.move(src, dst)  # a link is moved as a link
        except PermissionError:
            moved = False
            try:
                shutil.copy2(src, dst, follow_symlinks=False)
            except OSError:
                continue  # unreadable and not movable: it stays, its reason is recorded
    if not moved:
        entry = QuarantineEntry(**{**asdict(entry), "moved": False})
        _write_reason(folder, entry)
    return entry


def _write_reason(folder: Path, entry: QuarantineEntry) -> None:
    payload = {**asdict(entry), "quarantined_at": entry.quarantined_at.isoformat()}
    (folder / "reason.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


def _relative_to(path: Path, inbox: Path) -> Path:
    try:
        return path.relative_to(inbox)
    except ValueError:
        return Path(path.name)


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)[:60] or "file"
